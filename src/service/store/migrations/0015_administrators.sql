-- mailmfa store, schema 15: web administrators (DESIGN §12). A password kept as an Argon2id hash
-- (PHC string), a TOTP secret sealed to the administrator as a mailbox's is, the last step accepted
-- (never accepted again), the failure counter and the growing lock of the mailboxes' rule, and
-- the one-time set-up link (only its keyed hash, until it expires). Their recovery codes and
-- sessions are kept only as keyed hashes.
CREATE TABLE administrator (
    name             TEXT PRIMARY KEY,
    role             TEXT NOT NULL,
    postoffices      TEXT NOT NULL DEFAULT '',
    password_hash    TEXT,
    totp_secret      BLOB,
    totp_state       TEXT NOT NULL DEFAULT 'none',
    totp_last_step   INTEGER,
    setup_hash       BLOB,
    setup_expires_at INTEGER,
    failures         INTEGER NOT NULL DEFAULT 0,
    lock_count       INTEGER NOT NULL DEFAULT 0,
    locked_until     INTEGER,
    created_at       INTEGER NOT NULL
) STRICT;

CREATE TABLE admin_recovery_code (
    admin     TEXT NOT NULL REFERENCES administrator (name) ON DELETE CASCADE,
    hash      BLOB NOT NULL,
    issued_at INTEGER NOT NULL,
    used_at   INTEGER,
    PRIMARY KEY (admin, hash)
) WITHOUT ROWID;

-- A browser's session: `password` once the password was right, `signed_in` once the code was.
CREATE TABLE admin_session (
    token_hash BLOB PRIMARY KEY,
    admin      TEXT NOT NULL REFERENCES administrator (name) ON DELETE CASCADE,
    stage      TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL
) STRICT;
CREATE INDEX admin_session_admin ON admin_session (admin);
