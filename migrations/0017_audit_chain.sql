-- A tamper-evident audit log: each entry carries the SHA-256 of its own content and of the
-- previous entry's hash (db::audit::seal). Entries written before this version are sealed by
-- the migration, in order (migrate.rs). The append-only trigger now allows exactly one
-- change: sealing an unsealed entry, nothing else.
ALTER TABLE audit_log ADD COLUMN hash TEXT;

DROP TRIGGER audit_log_no_update;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN OLD.hash IS NOT NULL OR NEW.hash IS NULL
  OR NEW.id IS NOT OLD.id OR NEW.at IS NOT OLD.at OR NEW.actor_id IS NOT OLD.actor_id
  OR NEW.actor IS NOT OLD.actor OR NEW.action IS NOT OLD.action OR NEW.entity IS NOT OLD.entity
  OR NEW.entity_id IS NOT OLD.entity_id OR NEW.outcome IS NOT OLD.outcome
  OR NEW.detail IS NOT OLD.detail OR NEW.before IS NOT OLD.before OR NEW.after IS NOT OLD.after
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
