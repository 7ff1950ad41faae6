-- A kept document with its compressed bodies is kept compressed only: its
-- bytes are its gzip's, unzipped when read. Each format of a page of a
-- 1,000-source timeline was 1.4 MB as first served against 40-50 KB of
-- gzip and 20 KB of brotli, so a crawler walking such a timeline's
-- archive grew the store by 4.5 MB a page. A document not compressed yet
-- (a format rendered after the answer, not asked for since) keeps its
-- bytes until its compressed bodies are kept; rows kept compressed lose
-- their copy of the bytes their gzip holds.
ALTER TABLE archive_documents ALTER COLUMN body DROP NOT NULL;
UPDATE archive_documents SET body = NULL WHERE gzip IS NOT NULL AND br IS NOT NULL;
ALTER TABLE archive_documents ADD CONSTRAINT archive_documents_bytes
    CHECK (body IS NOT NULL OR (gzip IS NOT NULL AND br IS NOT NULL));
