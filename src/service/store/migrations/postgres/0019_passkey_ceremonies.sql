-- mailmfa store on PostgreSQL, schema 19: passkey registration ceremonies outside a login (see
-- the SQLite schema 19).
CREATE TABLE passkey_ceremony (
    id         TEXT COLLATE "C" PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES api_client (id) ON DELETE CASCADE,
    mailbox_id BIGINT NOT NULL REFERENCES mailbox (id) ON DELETE CASCADE,
    state      BYTEA NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX passkey_ceremony_expiry ON passkey_ceremony (expires_at);
