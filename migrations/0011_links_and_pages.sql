-- Click tracking, landing pages and short links (`rolo serve`).

-- The links of a campaign's messages, registered as messages are composed; a click token names
-- one of these rows, so a redirect goes only where a message pointed.
CREATE TABLE campaign_links (
    id          INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    url         TEXT NOT NULL CHECK (url GLOB 'http*://*'),
    created_at  TEXT NOT NULL,
    UNIQUE (campaign_id, url)
) STRICT;

ALTER TABLE mail_events ADD COLUMN link_id INTEGER REFERENCES campaign_links(id) ON DELETE SET NULL;
CREATE INDEX mail_events_link ON mail_events(link_id) WHERE link_id IS NOT NULL;

-- Whether a campaign's links may recognise their recipient on a landing page ("autologin").
ALTER TABLE campaigns ADD COLUMN autologin INTEGER NOT NULL DEFAULT 1 CHECK (autologin IN (0, 1));

-- Landing pages: a template shown at /p/SLUG with a sign-up form for the fields named.
CREATE TABLE landing_pages (
    id            INTEGER PRIMARY KEY,
    slug          TEXT NOT NULL UNIQUE
                  CHECK (length(slug) BETWEEN 1 AND 64 AND slug GLOB '[a-z0-9]*' AND slug NOT GLOB '*[^a-z0-9-]*'),
    template_id   INTEGER NOT NULL REFERENCES templates(id),
    group_id      INTEGER REFERENCES client_groups(id) ON DELETE SET NULL,
    -- A JSON array of client field keys (standard ones and custom fields); `email` always.
    fields        TEXT NOT NULL CHECK (json_valid(fields)),
    consent_text  TEXT NOT NULL CHECK (length(trim(consent_text)) > 0),
    double_opt_in INTEGER NOT NULL DEFAULT 0 CHECK (double_opt_in IN (0, 1)),
    active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_by    INTEGER NOT NULL REFERENCES users(id),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
) STRICT;

-- Each accepted submission of a page; with double opt-in it waits for its confirmation link.
CREATE TABLE page_signups (
    id           INTEGER PRIMARY KEY,
    page_id      INTEGER NOT NULL REFERENCES landing_pages(id) ON DELETE CASCADE,
    client_id    INTEGER REFERENCES clients(id) ON DELETE CASCADE,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'confirmed')),
    text_hash    TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    confirmed_at TEXT
) STRICT;
CREATE INDEX page_signups_page ON page_signups(page_id, status);
CREATE INDEX page_signups_client ON page_signups(client_id);

-- Short links: /s/CODE counts and redirects.
CREATE TABLE short_links (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE
                CHECK (length(code) BETWEEN 1 AND 64 AND code NOT GLOB '*[^A-Za-z0-9_-]*'),
    url         TEXT NOT NULL CHECK (url GLOB 'http*://*' OR url GLOB '/*'),
    campaign_id INTEGER REFERENCES campaigns(id) ON DELETE SET NULL,
    expires_at  TEXT,
    created_by  INTEGER NOT NULL REFERENCES users(id),
    created_at  TEXT NOT NULL
) STRICT;

CREATE TABLE short_link_hits (
    id          INTEGER PRIMARY KEY,
    link_id     INTEGER NOT NULL REFERENCES short_links(id) ON DELETE CASCADE,
    send_log_id INTEGER REFERENCES send_log(id) ON DELETE SET NULL,
    machine     INTEGER NOT NULL DEFAULT 0 CHECK (machine IN (0, 1)),
    created_at  TEXT NOT NULL
) STRICT;
CREATE INDEX short_link_hits_link ON short_link_hits(link_id, created_at);
