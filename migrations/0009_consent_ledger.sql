-- The consent ledger (GDPR): every change of a client's marketing consent, with its source,
-- the acting user, what it was about (a campaign, a file…) and, when the person was shown a
-- consent text, the SHA-256 of that text. Appended before the change: a trigger refuses a
-- consent update that the ledger does not already record.
CREATE TABLE consent_ledger (
    id         INTEGER PRIMARY KEY,
    client_id  INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    consent    TEXT NOT NULL CHECK (consent IN ('unknown', 'granted', 'withdrawn')),
    previous   TEXT CHECK (previous IN ('unknown', 'granted', 'withdrawn')),
    source     TEXT NOT NULL
               CHECK (source IN ('manual', 'import', 'landing_page', 'api', 'unsubscribe', 'complaint', 'migration')),
    detail     TEXT,
    text_hash  TEXT,
    actor_id   INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX consent_ledger_client ON consent_ledger(client_id, id);

CREATE TRIGGER clients_consent_in_ledger BEFORE UPDATE OF consent ON clients
WHEN OLD.consent IS NOT NEW.consent
 AND NEW.consent IS NOT (SELECT consent FROM consent_ledger WHERE client_id = NEW.id ORDER BY id DESC LIMIT 1)
BEGIN
    SELECT RAISE(ABORT, 'a consent change must be written to the consent ledger first');
END;

-- Consent given before the ledger existed: one entry each, saying so.
INSERT INTO consent_ledger (client_id, consent, previous, source, detail, created_at)
SELECT id, consent, NULL, 'migration', 'recorded before the consent ledger existed', updated_at
FROM clients WHERE consent <> 'unknown';
