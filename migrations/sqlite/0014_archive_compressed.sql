-- A kept page's compressed bodies (gzip, brotli), made once on any instance
-- and kept with the bytes they were made from: serving a kept page after a
-- restart, or in a format asked for later, then compresses nothing.
ALTER TABLE archive_documents ADD COLUMN gzip BLOB;
ALTER TABLE archive_documents ADD COLUMN br BLOB;
