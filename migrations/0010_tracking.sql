-- Opens (the tracking pixel of `rolo serve`) join the events of campaign mail. SQLite cannot
-- widen a CHECK: the table is rebuilt. Opens may be many per recipient (no `source`), carry
-- whether a machine made them (mail proxies, scanners), and, in the `anonymous` tracking mode,
-- name no recipient at all.
CREATE TABLE mail_events_new (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL
                 CHECK (kind IN ('hard_bounce', 'soft_bounce', 'complaint', 'unsubscribe', 'open', 'click')),
    send_log_id  INTEGER REFERENCES send_log(id) ON DELETE SET NULL,
    campaign_id  INTEGER REFERENCES campaigns(id) ON DELETE SET NULL,
    client_id    INTEGER REFERENCES clients(id) ON DELETE SET NULL,
    mailbox_hash TEXT,
    status       TEXT,
    detail       TEXT,
    machine      INTEGER NOT NULL DEFAULT 0 CHECK (machine IN (0, 1)),
    source       TEXT UNIQUE,
    created_at   TEXT NOT NULL
) STRICT;
INSERT INTO mail_events_new (id, kind, send_log_id, campaign_id, client_id, mailbox_hash, status, detail, source, created_at)
SELECT id, kind, send_log_id, campaign_id, client_id, mailbox_hash, status, detail, source, created_at FROM mail_events;
DROP TABLE mail_events;
ALTER TABLE mail_events_new RENAME TO mail_events;
CREATE INDEX mail_events_send_log ON mail_events(send_log_id);
CREATE INDEX mail_events_campaign ON mail_events(campaign_id, kind);
CREATE INDEX mail_events_client ON mail_events(client_id);
