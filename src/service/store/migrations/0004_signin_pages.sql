-- mailmfa store, schema 4: the hosted sign-in pages. A sign-in is a login transaction seen
-- through a browser; its ticket (only a keyed hash kept) tells the webmail the code was accepted.

CREATE TABLE signin (
    id             TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES api_client (id) ON DELETE CASCADE,
    transaction_id TEXT NOT NULL,
    mailbox        TEXT NOT NULL,
    return_url     TEXT NOT NULL,
    csrf           TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX signin_expiry ON signin (expires_at);

CREATE TABLE signin_ticket (
    ticket_hash BLOB PRIMARY KEY,
    client_id   TEXT NOT NULL REFERENCES api_client (id) ON DELETE CASCADE,
    mailbox     TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;
