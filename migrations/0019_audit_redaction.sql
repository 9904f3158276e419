-- The audit log stays append-only, with one more change allowed besides sealing an unsealed
-- entry: an erasure (privacy.erase), which replaces the personal columns (actor, detail,
-- before, after), drops the nonce and keeps the commitment in `redacted` — never a different
-- one — while every sealed column stays as it was. `rolo audit verify` checks each such entry
-- against the digest its erasure entry recorded.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN NOT (
    (OLD.hash IS NULL AND NEW.hash IS NOT NULL
     AND NEW.actor IS OLD.actor AND NEW.detail IS OLD.detail AND NEW.before IS OLD.before
     AND NEW.after IS OLD.after AND NEW.nonce IS OLD.nonce AND NEW.redacted IS OLD.redacted)
    OR
    (OLD.hash IS NOT NULL AND NEW.hash IS OLD.hash AND NEW.nonce IS NULL AND NEW.redacted IS NOT NULL
     AND (OLD.redacted IS NULL OR NEW.redacted IS OLD.redacted))
  )
  OR NEW.id IS NOT OLD.id OR NEW.at IS NOT OLD.at OR NEW.actor_id IS NOT OLD.actor_id
  OR NEW.action IS NOT OLD.action OR NEW.entity IS NOT OLD.entity
  OR NEW.entity_id IS NOT OLD.entity_id OR NEW.outcome IS NOT OLD.outcome
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
