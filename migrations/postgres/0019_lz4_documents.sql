-- Documents compressed with lz4, not pglz, where the server has it
-- (PostgreSQL 14 and later built with lz4, as Debian's and most packages
-- are). An item's document (3.8 KB of JSON on average) is compressed at
-- every write: 20,000 of a first poll's documents took 29 us each with
-- pglz and 10 us with lz4, to the same size (39 and 38 MB), and read back
-- in 4.1 and 3.2 us. A kept archive page is 1.4 MB of RSS in each format,
-- compressed when kept and decompressed at every restart's first request.
-- Only values written from now on: those stored stay as they are, and both
-- read the same. Catalog changes only, no table is rewritten. (EXECUTE, so
-- that a server before 14, which has no SET COMPRESSION, reads it only here
-- and keeps pglz too.)
DO $$
BEGIN
    EXECUTE 'ALTER TABLE items ALTER COLUMN doc SET COMPRESSION lz4';
    EXECUTE 'ALTER TABLE archive_documents ALTER COLUMN body SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
    RAISE NOTICE 'this server has no lz4: documents stay compressed with pglz';
END
$$;
-- A page's gzip and brotli bodies are compressed already: stored out of
-- line as they are, without a try at compressing them again.
ALTER TABLE archive_documents ALTER COLUMN gzip SET STORAGE EXTERNAL;
ALTER TABLE archive_documents ALTER COLUMN br SET STORAGE EXTERNAL;
