-- Applications of the company that use Rolo's e-mailing service through `rolo serve`'s API:
-- narrow principals with scopes and a rate, never staff. Keys are shown once and stored as
-- SHA-256; a rotated key keeps working until its `expires_at` (the grace period).
CREATE TABLE applications (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL COLLATE NOCASE UNIQUE
                 CHECK (length(name) BETWEEN 1 AND 64 AND name NOT GLOB '*[^A-Za-z0-9._-]*'),
    scopes       TEXT NOT NULL CHECK (json_valid(scopes)),
    -- Requests per second (0: no limit).
    rate         INTEGER NOT NULL DEFAULT 20 CHECK (rate >= 0),
    created_by   INTEGER NOT NULL REFERENCES users(id),
    created_at   TEXT NOT NULL,
    revoked_at   TEXT,
    calls        INTEGER NOT NULL DEFAULT 0,
    last_used_at TEXT
) STRICT;

CREATE TABLE app_keys (
    id         INTEGER PRIMARY KEY,
    app_id     INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    key_hash   TEXT NOT NULL UNIQUE,
    -- The first characters of the key, to tell keys apart in `rolo app show`.
    prefix     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT
) STRICT;
CREATE INDEX app_keys_app ON app_keys(app_id);

-- The application that queued a message (its own messages only are its to read).
ALTER TABLE outbox ADD COLUMN app_id INTEGER REFERENCES applications(id);
CREATE INDEX outbox_app ON outbox(app_id) WHERE app_id IS NOT NULL;
