-- The first answer to each idempotency key of an application: a retry gets it back and sends
-- nothing new; the same key with another body is a conflict.
CREATE TABLE api_requests (
    id              INTEGER PRIMARY KEY,
    app_id          INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    idempotency_key TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    response        TEXT NOT NULL CHECK (json_valid(response)),
    created_at      TEXT NOT NULL,
    UNIQUE (app_id, idempotency_key)
) STRICT;
