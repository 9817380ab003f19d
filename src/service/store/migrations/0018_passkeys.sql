-- mailmfa store, schema 18: passkeys and security keys (DESIGN §14). The WebAuthn credentials of
-- a mailbox: the credential id (base64url, unique across the store: a credential belongs to one
-- mailbox), the credential as the WebAuthn library stores it (public key, signature counter and
-- flags, all public, as JSON), the counter beside it for reading, the AAGUID, a name unique per
-- mailbox, created and last used. A login transaction holds the sealed state of its one
-- ceremony, and an API client the web origins it runs ceremonies on (comma-separated).
CREATE TABLE passkey (
    mailbox_id    INTEGER NOT NULL REFERENCES mailbox (id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    credential    TEXT NOT NULL,
    counter       INTEGER NOT NULL,
    aaguid        TEXT,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    PRIMARY KEY (mailbox_id, name)
) STRICT;

ALTER TABLE login_transaction ADD COLUMN webauthn_state BLOB;
ALTER TABLE api_client ADD COLUMN origins TEXT NOT NULL DEFAULT '';

-- Users may not choose passkeys for themselves until their webmail can run the ceremony: the
-- platform administrator turns that switch on.
INSERT INTO provider (name, enabled, admin_configurable, user_configurable) VALUES ('passkey', 1, 1, 0);
