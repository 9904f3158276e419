-- A lighter search index (issue #15). The trigram index kept positions (detail=full) for
-- phrase matching over name, e-mail, phone as typed, phone digits and company name: about
-- 75 characters a client, the larger part of an import's time. It now keeps, per trigram, only
-- which clients have it (detail=none) over name, e-mail and phone digits; it finds candidates,
-- and Rolo checks each candidate's own fields (db::search). Company names are matched on the
-- companies table, phones as typed through their digits.
DROP TRIGGER clients_search_insert;
DROP TRIGGER clients_search_update;
DROP TRIGGER clients_search_delete;
DROP TRIGGER clients_search_company;
DROP VIEW client_search_text;
DROP TABLE clients_search;

CREATE VIRTUAL TABLE clients_search USING fts5(
    body, tokenize = 'trigram remove_diacritics 1', content = '', contentless_delete = 1, detail = none
);

CREATE VIEW client_search_text AS
    SELECT id, full_name || ' ' || email || ' ' || coalesce(phone_digits, '') AS body FROM clients;

INSERT INTO clients_search (rowid, body) SELECT id, body FROM client_search_text;

-- A bulk import drops this trigger inside its own transaction and indexes its rows in one
-- statement at the end, several times faster than row by row (db::client::begin_bulk).
CREATE TRIGGER clients_search_insert AFTER INSERT ON clients BEGIN
    INSERT INTO clients_search (rowid, body) SELECT id, body FROM client_search_text WHERE id = new.id;
END;

CREATE TRIGGER clients_search_update AFTER UPDATE OF full_name, email, phone_digits ON clients BEGIN
    DELETE FROM clients_search WHERE rowid = old.id;
    INSERT INTO clients_search (rowid, body) SELECT id, body FROM client_search_text WHERE id = new.id;
END;

CREATE TRIGGER clients_search_delete AFTER DELETE ON clients BEGIN
    DELETE FROM clients_search WHERE rowid = old.id;
END;
