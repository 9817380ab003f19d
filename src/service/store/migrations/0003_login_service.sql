-- mailmfa store, schema 3: the login service's callers and its login transactions.

-- An API client: its key is `mmfa_<id>_<secret>`; only a keyed hash of the secret is kept.
CREATE TABLE api_client (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    key_hash    BLOB NOT NULL,
    allow       TEXT NOT NULL DEFAULT '',
    return_urls TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    last_used   INTEGER
) STRICT;

-- A login between `begin` and its first accepted code, bound to the client, the mailbox and the
-- login's IP address.
CREATE TABLE login_transaction (
    id         TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES api_client (id) ON DELETE CASCADE,
    mailbox    TEXT NOT NULL,
    ip         TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX login_transaction_expiry ON login_transaction (expires_at);
