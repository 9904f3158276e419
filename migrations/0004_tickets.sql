-- Projects and tickets for the company's own clients, SLA policies and clocks, and the
-- e-mail outbox every notification goes through.

CREATE TABLE projects (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL COLLATE NOCASE UNIQUE,
    company_id  INTEGER NOT NULL REFERENCES companies(id),
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    created_by  INTEGER REFERENCES users(id),
    updated_at  TEXT NOT NULL
) STRICT;
CREATE INDEX projects_company ON projects(company_id);

-- Client accounts see a project only once granted.
CREATE TABLE project_access (
    project_id INTEGER NOT NULL REFERENCES projects(id),
    user_id    INTEGER NOT NULL REFERENCES users(id),
    granted_at TEXT NOT NULL,
    granted_by INTEGER REFERENCES users(id),
    PRIMARY KEY (project_id, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX project_access_user ON project_access(user_id);

CREATE TABLE tickets (
    id                INTEGER PRIMARY KEY,
    project_id        INTEGER NOT NULL REFERENCES projects(id),
    type              TEXT NOT NULL CHECK (type IN ('urgent', 'maintenance', 'evolution')),
    subject           TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'open'
                      CHECK (status IN ('open', 'in_progress', 'waiting_client', 'resolved', 'closed')),
    author_id         INTEGER NOT NULL REFERENCES users(id),
    assignee_id       INTEGER REFERENCES users(id),
    first_response_at TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    -- The SLA clocks projected forward at the ticket's last change (domain::sla::Projection):
    -- the worst state of stopped/paused clocks (0 met, 1 paused, 4 breached), whether a clock
    -- runs, and when the running ones warn and breach. "Breached now" is then an index range.
    sla_fixed         INTEGER NOT NULL DEFAULT 0,
    sla_running       INTEGER NOT NULL DEFAULT 1,
    sla_warn_at       TEXT,
    sla_breach_at     TEXT
) STRICT;
CREATE INDEX tickets_project ON tickets(project_id, id);
CREATE INDEX tickets_status ON tickets(status, id);
CREATE INDEX tickets_assignee ON tickets(assignee_id, id);
CREATE INDEX tickets_type ON tickets(type, id);
CREATE INDEX tickets_open ON tickets(id) WHERE status NOT IN ('resolved', 'closed');
CREATE INDEX tickets_breach ON tickets(sla_breach_at);
CREATE INDEX tickets_warn ON tickets(sla_warn_at);
CREATE INDEX tickets_fixed ON tickets(sla_fixed, sla_running);

-- The thread: public replies (e-mailed to the client) and internal notes (never).
CREATE TABLE ticket_messages (
    id         INTEGER PRIMARY KEY,
    ticket_id  INTEGER NOT NULL REFERENCES tickets(id),
    author_id  INTEGER NOT NULL REFERENCES users(id),
    internal   INTEGER NOT NULL DEFAULT 0 CHECK (internal IN (0, 1)),
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX ticket_messages_ticket ON ticket_messages(ticket_id, id);

-- Files are stored once per content (SHA-256) and referenced by messages.
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    size   INTEGER NOT NULL,
    data   BLOB NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE attachments (
    id         INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES ticket_messages(id),
    sha256     TEXT NOT NULL REFERENCES blobs(sha256),
    name       TEXT NOT NULL,
    mime       TEXT NOT NULL,
    size       INTEGER NOT NULL
) STRICT;
CREATE INDEX attachments_message ON attachments(message_id);

-- Every change of a ticket: status, assignee, type… (the SLA clocks read status changes).
CREATE TABLE ticket_history (
    id        INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    at        TEXT NOT NULL,
    actor_id  INTEGER REFERENCES users(id),
    field     TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT
) STRICT;
CREATE INDEX ticket_history_ticket ON ticket_history(ticket_id, at);

-- Per-user read markers: the last message id each user has seen.
CREATE TABLE ticket_reads (
    ticket_id       INTEGER NOT NULL REFERENCES tickets(id),
    user_id         INTEGER NOT NULL REFERENCES users(id),
    last_message_id INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, user_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE sla_policies (
    type                   TEXT PRIMARY KEY CHECK (type IN ('urgent', 'maintenance', 'evolution')),
    first_response_minutes INTEGER NOT NULL CHECK (first_response_minutes > 0),
    resolution_minutes     INTEGER NOT NULL CHECK (resolution_minutes > 0),
    warn_percent           INTEGER NOT NULL DEFAULT 75 CHECK (warn_percent BETWEEN 1 AND 99),
    calendar               TEXT NOT NULL,
    updated_at             TEXT NOT NULL,
    updated_by             INTEGER REFERENCES users(id)
) STRICT, WITHOUT ROWID;

-- Each SLA warning or breach is notified once per ticket and clock.
CREATE TABLE sla_notices (
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    clock     TEXT NOT NULL CHECK (clock IN ('first_response', 'resolution')),
    level     TEXT NOT NULL CHECK (level IN ('at_risk', 'breached')),
    at        TEXT NOT NULL,
    PRIMARY KEY (ticket_id, clock, level)
) STRICT, WITHOUT ROWID;

-- Every e-mail is a row first; delivery marks it sent, or schedules a retry.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    to_addr         TEXT NOT NULL,
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT NOT NULL,
    message_id      TEXT NOT NULL UNIQUE,
    in_reply_to     TEXT,
    refs            TEXT,
    ticket_id       INTEGER REFERENCES tickets(id),
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
) STRICT;
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE status IN ('queued', 'sending');
CREATE INDEX outbox_ticket ON outbox(ticket_id);

-- Default policies (business hours Monday to Friday, 09:00-18:00 UTC); `rolo ticket sla policy set` changes them.
INSERT INTO sla_policies (type, first_response_minutes, resolution_minutes, warn_percent, calendar, updated_at) VALUES
    ('urgent', 60, 480, 75, '{"time_zone":"UTC","hours":"mon-fri 09:00-18:00","holidays":[]}', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ('maintenance', 480, 2700, 75, '{"time_zone":"UTC","hours":"mon-fri 09:00-18:00","holidays":[]}', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ('evolution', 1440, 10800, 75, '{"time_zone":"UTC","hours":"mon-fri 09:00-18:00","holidays":[]}', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
