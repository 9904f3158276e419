-- The CRM core: companies, clients (contact persons) with their lifecycle, interactions,
-- contracts and events. Money is integer minor units with a currency code.

CREATE TABLE companies (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL COLLATE NOCASE UNIQUE,
    logo           TEXT,
    size           TEXT CHECK (size IN ('enterprise', 'large', 'medium', 'small')),
    industry       TEXT,
    business_type  TEXT CHECK (business_type IN ('B2B', 'B2C', 'B2G')),
    country        TEXT,
    website        TEXT,
    time_zone      TEXT,
    total_income   INTEGER CHECK (total_income >= 0),
    currency       TEXT NOT NULL DEFAULT 'EUR',
    sales_owner_id INTEGER REFERENCES users(id),
    created_at     TEXT NOT NULL,
    created_by     INTEGER REFERENCES users(id),
    updated_at     TEXT NOT NULL
) STRICT;
CREATE INDEX companies_owner ON companies(sales_owner_id);

CREATE TABLE clients (
    id               INTEGER PRIMARY KEY,
    full_name        TEXT NOT NULL,
    email            TEXT NOT NULL COLLATE NOCASE UNIQUE,
    phone            TEXT,
    phone_digits     TEXT,
    company_id       INTEGER REFERENCES companies(id),
    sales_contact_id INTEGER REFERENCES users(id),
    stage            TEXT NOT NULL DEFAULT 'lead'
                     CHECK (stage IN ('subscriber', 'lead', 'qualified', 'opportunity', 'won', 'lost')),
    first_contact_at TEXT NOT NULL,
    last_contact_at  TEXT,
    created_at       TEXT NOT NULL,
    created_by       INTEGER REFERENCES users(id),
    updated_at       TEXT NOT NULL
) STRICT;
CREATE INDEX clients_name ON clients(full_name);
CREATE INDEX clients_sales ON clients(sales_contact_id, full_name);
CREATE INDEX clients_company ON clients(company_id, full_name);
CREATE INDEX clients_stage ON clients(stage, full_name);

-- Substring search over name, e-mail, phone (as typed and as digits) and company name. The
-- text of a client is defined once, by this view; the triggers and bulk loads read it.
CREATE VIRTUAL TABLE clients_search USING fts5(
    body, tokenize = 'trigram remove_diacritics 1', content = '', contentless_delete = 1
);

CREATE VIEW client_search_text AS
    SELECT c.id, c.full_name || ' ' || c.email || ' ' || coalesce(c.phone, '') || ' ' || coalesce(c.phone_digits, '')
                 || ' ' || coalesce(co.name, '') AS body
    FROM clients c LEFT JOIN companies co ON co.id = c.company_id;

-- A bulk import marks itself in meta (inside its own transaction) and indexes its rows in
-- one statement at the end, several times faster than row by row.
CREATE TRIGGER clients_search_insert AFTER INSERT ON clients
WHEN NOT EXISTS (SELECT 1 FROM meta WHERE key = 'bulk_import')
BEGIN
    INSERT INTO clients_search (rowid, body) SELECT id, body FROM client_search_text WHERE id = new.id;
END;

CREATE TRIGGER clients_search_update AFTER UPDATE OF full_name, email, phone, company_id ON clients BEGIN
    DELETE FROM clients_search WHERE rowid = old.id;
    INSERT INTO clients_search (rowid, body) SELECT id, body FROM client_search_text WHERE id = new.id;
END;

CREATE TRIGGER clients_search_delete AFTER DELETE ON clients BEGIN
    DELETE FROM clients_search WHERE rowid = old.id;
END;

CREATE TRIGGER clients_search_company AFTER UPDATE OF name ON companies BEGIN
    DELETE FROM clients_search WHERE rowid IN (SELECT id FROM clients WHERE company_id = new.id);
    INSERT INTO clients_search (rowid, body)
        SELECT id, body FROM client_search_text WHERE id IN (SELECT id FROM clients WHERE company_id = new.id);
END;

CREATE TABLE client_stage_history (
    id         INTEGER PRIMARY KEY,
    client_id  INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    from_stage TEXT,
    to_stage   TEXT NOT NULL,
    at         TEXT NOT NULL,
    by_id      INTEGER REFERENCES users(id)
) STRICT;
CREATE INDEX client_stage_history_client ON client_stage_history(client_id, at);

CREATE TABLE interactions (
    id         INTEGER PRIMARY KEY,
    client_id  INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('phone_call', 'meeting', 'email', 'chat', 'social_media',
                                             'event_attendance', 'sale', 'support_request', 'survey')),
    at         TEXT NOT NULL,
    notes      TEXT NOT NULL DEFAULT '',
    author_id  INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX interactions_client ON interactions(client_id, at);
CREATE INDEX interactions_author ON interactions(author_id, at);
CREATE INDEX interactions_at ON interactions(at);

-- sales_contact_id is the client's, kept in step by the triggers below, so that
-- "my unpaid contracts" is one index range instead of a join and a sort.
CREATE TABLE contracts (
    id         INTEGER PRIMARY KEY,
    client_id  INTEGER NOT NULL REFERENCES clients(id),
    sales_contact_id INTEGER REFERENCES users(id),
    total      INTEGER NOT NULL CHECK (total >= 0),
    due        INTEGER NOT NULL CHECK (due >= 0 AND due <= total),
    currency   TEXT NOT NULL DEFAULT 'EUR',
    signed     INTEGER NOT NULL DEFAULT 0 CHECK (signed IN (0, 1)),
    signed_at  TEXT,
    created_at TEXT NOT NULL,
    created_by INTEGER REFERENCES users(id),
    updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX contracts_client ON contracts(client_id);
CREATE INDEX contracts_unsigned ON contracts(id) WHERE signed = 0;
CREATE INDEX contracts_signed ON contracts(id) WHERE signed = 1;
CREATE INDEX contracts_unpaid ON contracts(id) WHERE due > 0;
CREATE INDEX contracts_sales ON contracts(sales_contact_id, id);
CREATE INDEX contracts_sales_unpaid ON contracts(sales_contact_id, id) WHERE due > 0;
CREATE INDEX contracts_sales_unsigned ON contracts(sales_contact_id, id) WHERE signed = 0;

CREATE TRIGGER contracts_sales_insert AFTER INSERT ON contracts BEGIN
    UPDATE contracts SET sales_contact_id = (SELECT sales_contact_id FROM clients WHERE id = new.client_id)
    WHERE id = new.id;
END;

CREATE TRIGGER contracts_sales_move AFTER UPDATE OF client_id ON contracts BEGIN
    UPDATE contracts SET sales_contact_id = (SELECT sales_contact_id FROM clients WHERE id = new.client_id)
    WHERE id = new.id;
END;

CREATE TRIGGER contracts_sales_follow AFTER UPDATE OF sales_contact_id ON clients BEGIN
    UPDATE contracts SET sales_contact_id = new.sales_contact_id WHERE client_id = new.id;
END;

CREATE TABLE events (
    id                 INTEGER PRIMARY KEY,
    contract_id        INTEGER NOT NULL REFERENCES contracts(id),
    name               TEXT NOT NULL,
    starts_at          TEXT NOT NULL,
    ends_at            TEXT NOT NULL CHECK (ends_at > starts_at),
    support_contact_id INTEGER REFERENCES users(id),
    location           TEXT NOT NULL DEFAULT '',
    attendees          INTEGER NOT NULL DEFAULT 0 CHECK (attendees >= 0),
    notes              TEXT NOT NULL DEFAULT '',
    created_at         TEXT NOT NULL,
    created_by         INTEGER REFERENCES users(id),
    updated_at         TEXT NOT NULL
) STRICT;
CREATE INDEX events_start ON events(starts_at);
CREATE INDEX events_support ON events(support_contact_id, starts_at);
CREATE INDEX events_contract ON events(contract_id, starts_at);
CREATE INDEX events_no_support ON events(starts_at) WHERE support_contact_id IS NULL;

-- A client account (role `client`) is linked to its client contact.
ALTER TABLE users ADD COLUMN client_id INTEGER REFERENCES clients(id);
CREATE UNIQUE INDEX users_client ON users(client_id) WHERE client_id IS NOT NULL;
