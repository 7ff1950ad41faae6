-- Which making of a closed page its kept documents must come from: the
-- withdrawal or revival of an item the page shows starts a new edition (and
-- drops the kept documents), and a document rendered from an older edition's
-- rows is refused. Without it, a page read just before a withdrawal and kept
-- just after would show the withdrawn item for good.
ALTER TABLE archive_pages ADD COLUMN edition BIGINT NOT NULL DEFAULT 0;
