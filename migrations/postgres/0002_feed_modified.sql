-- Last-Modified per feed (unix milliseconds), advanced in the transaction of every
-- change to the feed; see FeedState::modified.
ALTER TABLE feed_versions ADD COLUMN modified BIGINT NOT NULL DEFAULT 0;
