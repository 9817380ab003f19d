-- mailmfa store on PostgreSQL, schema 3: the login service's callers and its login transactions.

-- An API client: its key is `mmfa_<id>_<secret>`; only a keyed hash of the secret is kept.
CREATE TABLE api_client (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL UNIQUE,
    key_hash    BYTEA NOT NULL,
    allow       TEXT NOT NULL DEFAULT '',
    return_urls TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    last_used   BIGINT
);

-- A login between `begin` and its first accepted code, bound to the client, the mailbox and the
-- login's IP address.
CREATE TABLE login_transaction (
    id         TEXT COLLATE "C" PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES api_client (id) ON DELETE CASCADE,
    mailbox    TEXT NOT NULL,
    ip         TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX login_transaction_expiry ON login_transaction (expires_at);
