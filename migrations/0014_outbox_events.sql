-- Bounces and complaints of outbox mail (notifications, one-off and API messages), matched by
-- the VERP token its return path now carries.
ALTER TABLE mail_events ADD COLUMN outbox_id INTEGER REFERENCES outbox(id) ON DELETE SET NULL;
CREATE INDEX mail_events_outbox ON mail_events(outbox_id) WHERE outbox_id IS NOT NULL;
