-- Each source's polls numbered in turn (1, 2, ...): a poll logged drops the
-- one ATTEMPTS_KEPT turns before it by this index, instead of walking back
-- the source's log to find where to cut (see store/postgres/attempts.rs).
-- Rows logged by an instance not upgraded yet have none, and are dropped
-- with their source.
ALTER TABLE fetch_attempts ADD COLUMN turn BIGINT;
UPDATE fetch_attempts f SET turn = o.turn
FROM (SELECT id, row_number() OVER (PARTITION BY source ORDER BY id) AS turn
      FROM fetch_attempts) AS o
WHERE o.id = f.id;
CREATE UNIQUE INDEX fetch_attempts_turn ON fetch_attempts (source, turn);
