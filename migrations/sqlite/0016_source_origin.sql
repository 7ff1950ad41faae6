-- The URL a source was configured with, beside the one it is fetched from
-- (`url`, which follows permanent redirects): registering a source whose
-- configured URL changed starts it again at the new one. Until now a URL
-- changed in the config file was never fetched. A source that followed a
-- redirect before this is started again once at its configured URL.
ALTER TABLE sources ADD COLUMN origin TEXT;
UPDATE sources SET origin = url;
