-- Files sent with an outbox message (API messages), stored once by content in `blobs`.
CREATE TABLE outbox_attachments (
    id        INTEGER PRIMARY KEY,
    outbox_id INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
    filename  TEXT NOT NULL CHECK (length(filename) BETWEEN 1 AND 255),
    mime      TEXT NOT NULL,
    sha256    TEXT NOT NULL REFERENCES blobs(sha256)
) STRICT;
CREATE INDEX outbox_attachments_outbox ON outbox_attachments(outbox_id);
