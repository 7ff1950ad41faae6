-- The hash of the last body fetched from a source: an upstream that ignores
-- conditional GET and sends the same bytes again costs a hash, not a parse.
ALTER TABLE sources ADD COLUMN body_hash TEXT;
-- How many items the source had in the store after its last fetch.
ALTER TABLE sources ADD COLUMN items BIGINT NOT NULL DEFAULT 0;
