-- Population management: custom profile fields, marketing consent, groups and segments.

-- The registry of custom client fields. Values live with the client, in `clients.fields`
-- (a JSON object keyed by field key), validated by the service against this registry.
CREATE TABLE client_fields (
    id            INTEGER PRIMARY KEY,
    key           TEXT NOT NULL UNIQUE
                  CHECK (length(key) BETWEEN 1 AND 40 AND key GLOB '[a-z]*' AND key NOT GLOB '*[^a-z0-9_]*'),
    label         TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('text', 'number', 'date', 'bool', 'choice')),
    -- For `choice`: a JSON array of the accepted values.
    choices       TEXT CHECK (choices IS NULL OR json_valid(choices)),
    mandatory     INTEGER NOT NULL DEFAULT 0 CHECK (mandatory IN (0, 1)),
    -- Public fields may appear in e-mails and the preference centre; private ones never leave
    -- the staff's screens.
    public        INTEGER NOT NULL DEFAULT 0 CHECK (public IN (0, 1)),
    -- System fields belong to Rolo's own model and cannot be deleted; community fields are free.
    origin        TEXT NOT NULL DEFAULT 'community' CHECK (origin IN ('system', 'community')),
    personal_data INTEGER NOT NULL DEFAULT 0 CHECK (personal_data IN (0, 1)),
    created_at    TEXT NOT NULL,
    created_by    INTEGER REFERENCES users(id),
    updated_at    TEXT NOT NULL
) STRICT;

ALTER TABLE clients ADD COLUMN fields TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(fields) AND json_type(fields) = 'object');
-- E-mail marketing consent: unknown until the person says yes (granted) or no (withdrawn).
ALTER TABLE clients ADD COLUMN consent TEXT NOT NULL DEFAULT 'unknown'
    CHECK (consent IN ('unknown', 'granted', 'withdrawn'));
-- No index on consent or creation date: a segment over 100k clients scans them in ~10 ms,
-- and each index would cost every import ~8 %. Last contact is mostly empty, so cheap to index.
CREATE INDEX clients_last_contact ON clients(last_contact_at);

-- Static sets of clients. `imported` groups are filled by `client import --group`; a segment
-- frozen into a group remembers it.
CREATE TABLE client_groups (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL COLLATE NOCASE UNIQUE CHECK (length(trim(name)) > 0),
    kind        TEXT NOT NULL CHECK (kind IN ('system', 'imported', 'custom')),
    description TEXT NOT NULL DEFAULT '',
    segment     TEXT,
    created_at  TEXT NOT NULL,
    created_by  INTEGER REFERENCES users(id),
    updated_at  TEXT NOT NULL
) STRICT;

CREATE TABLE client_group_members (
    group_id  INTEGER NOT NULL REFERENCES client_groups(id) ON DELETE CASCADE,
    client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    added_at  TEXT NOT NULL,
    added_by  INTEGER REFERENCES users(id),
    PRIMARY KEY (group_id, client_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX client_group_members_client ON client_group_members(client_id);

-- Saved filters over clients, in the filter language of `domain::segment`; compiled to SQL
-- with bound values each time they run, so relative dates (`-30d`) stay relative.
CREATE TABLE client_segments (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL COLLATE NOCASE UNIQUE CHECK (length(trim(name)) > 0),
    filter      TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    created_by  INTEGER REFERENCES users(id),
    updated_at  TEXT NOT NULL
) STRICT;
