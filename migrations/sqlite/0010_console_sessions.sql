-- The console's signed-in editors: the SHA-256 of each session's cookie (the
-- secret itself is never stored), the token that signed it in, its CSRF
-- token and when it ends. In the store, so every instance accepts it.
CREATE TABLE console_sessions (
    id TEXT PRIMARY KEY,
    token_name TEXT NOT NULL,
    csrf TEXT NOT NULL,
    expires INTEGER NOT NULL
);
CREATE INDEX console_sessions_expires ON console_sessions (expires);
