-- mailmfa store on PostgreSQL, schema 13: what the login service's hardening keeps (see the
-- SQLite schema 13).
ALTER TABLE postoffice ADD COLUMN remember_in_always BIGINT NOT NULL DEFAULT 0 CHECK (remember_in_always IN (0, 1));
ALTER TABLE api_client ADD COLUMN postoffices TEXT NOT NULL DEFAULT '';
ALTER TABLE login_transaction ADD COLUMN purpose TEXT NOT NULL DEFAULT 'login';
ALTER TABLE signin_ticket ADD COLUMN signin_id TEXT NOT NULL DEFAULT '';

CREATE TABLE step_up (
    token_hash BYTEA PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES api_client (id) ON DELETE CASCADE,
    mailbox    TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX step_up_expiry ON step_up (expires_at);
