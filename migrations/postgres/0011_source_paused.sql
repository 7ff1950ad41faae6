-- When an editor paused a source (unix ms); NULL while it is polled. A
-- paused source is never claimed by the schedule, on any instance; its
-- items stay, and a fetch asked for by name still runs.
ALTER TABLE sources ADD COLUMN paused_at BIGINT;
