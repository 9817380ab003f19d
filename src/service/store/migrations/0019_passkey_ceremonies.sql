-- mailmfa store, schema 19: the registration ceremonies of passkeys added outside a login (a
-- webmail's settings page, DESIGN §14). Each is bound to the API client that began it and to the
-- mailbox, holds the WebAuthn state sealed to its id, is answered once and ends at expires_at.
CREATE TABLE passkey_ceremony (
    id         TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES api_client (id) ON DELETE CASCADE,
    mailbox_id INTEGER NOT NULL REFERENCES mailbox (id) ON DELETE CASCADE,
    state      BLOB NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX passkey_ceremony_expiry ON passkey_ceremony (expires_at);
