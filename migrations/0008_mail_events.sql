-- What comes back about campaign mail: bounces, complaints and unsubscribe mails read by
-- `rolo mail inbound` (opens and clicks join them with `rolo serve`). One row per returned
-- message: `source` is its Message-ID or the SHA-256 of its bytes, so a message fed twice is
-- recorded once. The address itself stays in the send log; here only its mailbox hash.
CREATE TABLE mail_events (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('hard_bounce', 'soft_bounce', 'complaint', 'unsubscribe')),
    send_log_id  INTEGER REFERENCES send_log(id) ON DELETE SET NULL,
    campaign_id  INTEGER REFERENCES campaigns(id) ON DELETE SET NULL,
    client_id    INTEGER REFERENCES clients(id) ON DELETE SET NULL,
    mailbox_hash TEXT NOT NULL,
    status       TEXT,
    detail       TEXT,
    source       TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL
) STRICT;
CREATE INDEX mail_events_send_log ON mail_events(send_log_id);
CREATE INDEX mail_events_campaign ON mail_events(campaign_id, kind);
CREATE INDEX mail_events_client ON mail_events(client_id);
