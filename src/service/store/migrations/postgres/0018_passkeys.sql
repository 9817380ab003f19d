-- mailmfa store on PostgreSQL, schema 18: passkeys and security keys (see the SQLite schema 18).
CREATE TABLE passkey (
    mailbox_id    BIGINT NOT NULL REFERENCES mailbox (id) ON DELETE CASCADE,
    credential_id TEXT COLLATE "C" NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    credential    TEXT NOT NULL,
    counter       BIGINT NOT NULL,
    aaguid        TEXT,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    PRIMARY KEY (mailbox_id, name)
);

ALTER TABLE login_transaction ADD COLUMN webauthn_state BYTEA;
ALTER TABLE api_client ADD COLUMN origins TEXT NOT NULL DEFAULT '';

-- Users may not choose passkeys for themselves until their webmail can run the ceremony: the
-- platform administrator turns that switch on.
INSERT INTO provider (name, enabled, admin_configurable, user_configurable) VALUES ('passkey', 1, 1, 0);
