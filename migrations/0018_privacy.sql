-- Privacy (GDPR erasure):
-- * the suppression list keys mailboxes by HMAC-SHA-256 under this database's own random salt
--   (migrate.rs rehashes the existing entries and the mailbox hashes of mail events);
-- * an erased client keeps its row (contracts point at it) with its personal columns replaced,
--   and `erased_at` says when;
-- * audit entries commit to their personal columns (actor name, detail, before, after)
--   through a random per-entry nonce, so an erasure can replace those columns and forget the
--   nonce while the chain still holds: `redacted` keeps the commitment (db::audit). The
--   migration re-seals the log in this form; the next one puts the append-only trigger back.
INSERT INTO meta (key, value) VALUES ('suppression_salt', lower(hex(randomblob(32))));
ALTER TABLE clients ADD COLUMN erased_at TEXT;
ALTER TABLE audit_log ADD COLUMN nonce TEXT;
ALTER TABLE audit_log ADD COLUMN redacted TEXT;
DROP TRIGGER audit_log_no_update;
