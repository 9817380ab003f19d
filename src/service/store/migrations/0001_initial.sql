-- mailmfa store, schema 1: post offices, mailboxes and their two-factor state, providers, settings,
-- known IPs and countries, pending one-time codes, and the audit log.
-- Secrets are sealed by the application (XChaCha20-Poly1305) before they reach these tables.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value ANY NOT NULL
) STRICT;

CREATE TABLE postoffice (
    id                  INTEGER PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE,
    challenge           TEXT NOT NULL DEFAULT 'never'
                        CHECK (challenge IN ('never', 'always', 'new-ip', 'new-country')),
    users_may_configure INTEGER NOT NULL DEFAULT 0 CHECK (users_may_configure IN (0, 1)),
    created_at          INTEGER NOT NULL
) STRICT;

CREATE TABLE mailbox (
    id            INTEGER PRIMARY KEY,
    postoffice_id INTEGER NOT NULL REFERENCES postoffice (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    challenge     TEXT NOT NULL DEFAULT 'inherit'
                  CHECK (challenge IN ('inherit', 'never', 'always', 'new-ip', 'new-country')),
    provider      TEXT NOT NULL DEFAULT 'totp' CHECK (provider IN ('totp', 'sms', 'smtp')),
    sms_number    TEXT,
    alt_email     TEXT,
    totp_secret   BLOB,
    totp_state    TEXT NOT NULL DEFAULT 'none' CHECK (totp_state IN ('none', 'pending', 'active')),
    totp_last_step INTEGER,
    failures      INTEGER NOT NULL DEFAULT 0,
    lock_count    INTEGER NOT NULL DEFAULT 0,
    locked_until  INTEGER,
    last_login    INTEGER,
    created_at    INTEGER NOT NULL,
    UNIQUE (postoffice_id, name)
) STRICT;

CREATE TABLE known_ip (
    mailbox_id INTEGER NOT NULL REFERENCES mailbox (id) ON DELETE CASCADE,
    ip         TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, ip)
) STRICT, WITHOUT ROWID;

CREATE TABLE known_country (
    mailbox_id INTEGER NOT NULL REFERENCES mailbox (id) ON DELETE CASCADE,
    country    TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, country)
) STRICT, WITHOUT ROWID;

CREATE TABLE provider (
    name               TEXT PRIMARY KEY CHECK (name IN ('totp', 'sms', 'smtp')),
    enabled            INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    admin_configurable INTEGER NOT NULL CHECK (admin_configurable IN (0, 1)),
    user_configurable  INTEGER NOT NULL CHECK (user_configurable IN (0, 1))
) STRICT;

INSERT INTO provider (name, enabled, admin_configurable, user_configurable) VALUES
    ('totp', 1, 1, 1),
    ('sms', 1, 1, 1),
    ('smtp', 1, 1, 1);

-- A setting holds either a plain value or, for passwords, a sealed one.
CREATE TABLE setting (
    key    TEXT PRIMARY KEY,
    value  TEXT,
    sealed BLOB,
    CHECK ((value IS NULL) <> (sealed IS NULL))
) STRICT;

-- The one outstanding SMS or e-mailed code of a mailbox: a newer code replaces it.
CREATE TABLE otp_code (
    mailbox_id INTEGER PRIMARY KEY REFERENCES mailbox (id) ON DELETE CASCADE,
    attempt    TEXT NOT NULL,
    ip         TEXT NOT NULL,
    provider   TEXT NOT NULL,
    code_hash  BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

-- When codes were sent, for the per-mailbox send limit.
CREATE TABLE code_send (
    mailbox_id INTEGER NOT NULL REFERENCES mailbox (id) ON DELETE CASCADE,
    sent_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX code_send_mailbox ON code_send (mailbox_id, sent_at);

-- The audit log keeps the mailbox as text so entries outlive the mailbox.
CREATE TABLE audit (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    mailbox TEXT,
    action  TEXT NOT NULL,
    ip      TEXT,
    country TEXT,
    outcome TEXT NOT NULL,
    detail  TEXT
) STRICT;
CREATE INDEX audit_mailbox ON audit (mailbox, id);
