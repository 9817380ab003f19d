-- mailmfa store on PostgreSQL, schema 15: web administrators (see the SQLite schema 15).
CREATE TABLE administrator (
    name             TEXT PRIMARY KEY,
    role             TEXT NOT NULL,
    postoffices      TEXT NOT NULL DEFAULT '',
    password_hash    TEXT,
    totp_secret      BYTEA,
    totp_state       TEXT NOT NULL DEFAULT 'none',
    totp_last_step   BIGINT,
    setup_hash       BYTEA,
    setup_expires_at BIGINT,
    failures         BIGINT NOT NULL DEFAULT 0,
    lock_count       BIGINT NOT NULL DEFAULT 0,
    locked_until     BIGINT,
    created_at       BIGINT NOT NULL
);

CREATE TABLE admin_recovery_code (
    admin     TEXT NOT NULL REFERENCES administrator (name) ON DELETE CASCADE,
    hash      BYTEA NOT NULL,
    issued_at BIGINT NOT NULL,
    used_at   BIGINT,
    PRIMARY KEY (admin, hash)
);

CREATE TABLE admin_session (
    token_hash BYTEA PRIMARY KEY,
    admin      TEXT NOT NULL REFERENCES administrator (name) ON DELETE CASCADE,
    stage      TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL
);
CREATE INDEX admin_session_admin ON admin_session (admin);
