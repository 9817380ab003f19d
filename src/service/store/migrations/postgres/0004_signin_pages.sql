-- mailmfa store on PostgreSQL, schema 4: the hosted sign-in pages (see the SQLite schema 4).

CREATE TABLE signin (
    id             TEXT COLLATE "C" PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES api_client (id) ON DELETE CASCADE,
    transaction_id TEXT NOT NULL,
    mailbox        TEXT NOT NULL,
    return_url     TEXT NOT NULL,
    csrf           TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX signin_expiry ON signin (expires_at);

CREATE TABLE signin_ticket (
    ticket_hash BYTEA PRIMARY KEY,
    client_id   TEXT NOT NULL REFERENCES api_client (id) ON DELETE CASCADE,
    mailbox     TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
