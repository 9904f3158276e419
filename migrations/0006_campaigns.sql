-- E-mail marketing: the template library (immutable versions), media, campaigns with their
-- audience definition and approval, the per-recipient send log, and the suppression list.

-- A template is a name and a kind; its content lives in versions, never changed once written.
CREATE TABLE templates (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL COLLATE NOCASE UNIQUE CHECK (length(trim(name)) > 0),
    kind       TEXT NOT NULL CHECK (kind IN ('campaign', 'transactional')),
    created_at TEXT NOT NULL,
    created_by INTEGER REFERENCES users(id),
    deleted_at TEXT
) STRICT;

CREATE TABLE template_versions (
    id          INTEGER PRIMARY KEY,
    template_id INTEGER NOT NULL REFERENCES templates(id),
    version     INTEGER NOT NULL CHECK (version >= 1),
    subject     TEXT NOT NULL,
    -- The body as written: HTML, or MJML compiled to HTML at render time.
    source_kind TEXT NOT NULL CHECK (source_kind IN ('html', 'mjml')),
    source      TEXT NOT NULL,
    -- The text part; when NULL it is derived from the rendered HTML.
    text        TEXT,
    created_at  TEXT NOT NULL,
    created_by  INTEGER REFERENCES users(id),
    UNIQUE (template_id, version)
) STRICT;

CREATE TRIGGER template_versions_immutable BEFORE UPDATE ON template_versions BEGIN
    SELECT RAISE(ABORT, 'template versions are immutable');
END;

-- Media of the library: named, stored once per content in `blobs` (shared with attachments).
CREATE TABLE media (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL COLLATE NOCASE UNIQUE CHECK (length(trim(name)) > 0),
    sha256     TEXT NOT NULL REFERENCES blobs(sha256),
    mime       TEXT NOT NULL,
    size       INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    created_by INTEGER REFERENCES users(id)
) STRICT;

CREATE TABLE campaigns (
    id               INTEGER PRIMARY KEY,
    name             TEXT NOT NULL CHECK (length(trim(name)) > 0),
    template_id      INTEGER NOT NULL REFERENCES templates(id),
    template_version INTEGER NOT NULL,
    from_addr        TEXT NOT NULL,
    reply_to         TEXT,
    tracking         TEXT NOT NULL DEFAULT 'full' CHECK (tracking IN ('full', 'anonymous', 'off')),
    -- Messages per second for this campaign (0: as fast as the server takes them).
    rate             INTEGER NOT NULL DEFAULT 0 CHECK (rate >= 0),
    status           TEXT NOT NULL DEFAULT 'draft' CHECK (status IN
                     ('draft', 'pending_approval', 'approved', 'scheduled', 'sending', 'paused', 'sent', 'cancelled')),
    author_id        INTEGER NOT NULL REFERENCES users(id),
    approved_by      INTEGER REFERENCES users(id),
    approved_at      TEXT,
    approval_hash    TEXT,
    approval_comment TEXT,
    scheduled_at     TEXT,
    started_at       TEXT,
    finished_at      TEXT,
    -- While a sender runs it holds the campaign until this instant (renewed as it goes); rows
    -- in `sending` with no live holder were in flight at a crash.
    lease_until      TEXT,
    -- The process that holds the lease: a resume takes over at once from a dead one.
    lease_owner      INTEGER,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
) STRICT;
CREATE INDEX campaigns_status ON campaigns(status, id);
CREATE INDEX campaigns_due ON campaigns(scheduled_at) WHERE status = 'scheduled';

-- The audience definition: groups and segments to include, and to exclude.
CREATE TABLE campaign_audience (
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    exclude     INTEGER NOT NULL CHECK (exclude IN (0, 1)),
    kind        TEXT NOT NULL CHECK (kind IN ('group', 'segment')),
    ref_id      INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, exclude, kind, ref_id)
) STRICT, WITHOUT ROWID;

-- One row per recipient, frozen when sending starts: queued → sending → sent | failed |
-- deferred; a row left in `sending` by a crash becomes `unknown` and is never re-sent unless
-- the operator asks. `mailbox` is the normalised address: nobody gets two copies.
CREATE TABLE send_log (
    id              INTEGER PRIMARY KEY,
    campaign_id     INTEGER NOT NULL REFERENCES campaigns(id),
    client_id       INTEGER REFERENCES clients(id) ON DELETE SET NULL,
    email           TEXT NOT NULL,
    mailbox         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'deferred', 'unknown')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    message_id      TEXT,
    last_error      TEXT,
    sent_at         TEXT,
    UNIQUE (campaign_id, mailbox)
) STRICT;
CREATE INDEX send_log_todo ON send_log(campaign_id, status, id);
CREATE INDEX send_log_client ON send_log(client_id);

-- Addresses no campaign may reach: unsubscribed, hard bounce, complaint, manual, erased. The
-- address is kept as a SHA-256 of its normalised form (and in clear until an erasure).
CREATE TABLE suppressions (
    mailbox_hash TEXT PRIMARY KEY,
    email        TEXT,
    reason       TEXT NOT NULL CHECK (reason IN ('unsubscribed', 'hard_bounce', 'complaint', 'manual', 'erased')),
    source       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   INTEGER REFERENCES users(id)
) STRICT, WITHOUT ROWID;

-- One-off and transactional mail can carry an idempotency key: a repeat is a no-op.
ALTER TABLE outbox ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX outbox_idempotency ON outbox(idempotency_key) WHERE idempotency_key IS NOT NULL;

-- PERMISSIONS.md: one-off e-mail and the suppression list for management and marketing;
-- bounces and complaints recorded by management; landing pages and short links managed by
-- management and marketing and read by sales; application accounts managed by admins and
-- read by management. Admins hold every permission.
INSERT OR IGNORE INTO role_permissions (role_id, permission)
SELECT roles.id, json_each.value FROM roles, json_each('["mail:send", "mail:suppress", "mail:inbound", "page:read", "page:manage", "link:read", "link:manage", "app:read", "app:manage"]') WHERE name = 'admin';
INSERT OR IGNORE INTO role_permissions (role_id, permission)
SELECT roles.id, json_each.value FROM roles, json_each('["mail:send", "mail:suppress", "mail:inbound", "page:read", "page:manage", "link:read", "link:manage", "app:read"]') WHERE name = 'management';
INSERT OR IGNORE INTO role_permissions (role_id, permission)
SELECT roles.id, json_each.value FROM roles, json_each('["page:read", "link:read"]') WHERE name = 'sales';
INSERT OR IGNORE INTO role_permissions (role_id, permission)
SELECT roles.id, json_each.value FROM roles, json_each('["mail:send", "mail:suppress", "page:read", "page:manage", "link:read", "link:manage"]') WHERE name = 'marketing';
