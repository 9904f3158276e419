-- Deferred rows by the time they are due, so that claiming the next batch never reads the
-- whole send log (with `send_log_todo`, claiming is two short index range scans).
CREATE INDEX send_log_due ON send_log(campaign_id, next_attempt_at) WHERE status = 'deferred';
