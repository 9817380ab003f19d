-- mailmfa store on PostgreSQL, schema 14: mail programs (see the SQLite schema 14).
ALTER TABLE postoffice ADD COLUMN mail_programs TEXT;
ALTER TABLE mailbox ADD COLUMN mail_programs TEXT;

CREATE TABLE app_password (
    mailbox_id         BIGINT NOT NULL REFERENCES mailbox (id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    hash               BYTEA NOT NULL,
    protocols          TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    expires_at         BIGINT,
    last_used_at       BIGINT,
    last_used_ip       TEXT,
    last_used_protocol TEXT,
    PRIMARY KEY (mailbox_id, name)
);
CREATE UNIQUE INDEX app_password_hash ON app_password (mailbox_id, hash);
