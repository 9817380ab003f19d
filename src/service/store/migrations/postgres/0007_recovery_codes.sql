-- mailmfa store on PostgreSQL, schema 7: recovery codes, kept only as keyed hashes, and how many
-- of a mailbox's are unused (see the SQLite schema 7).
CREATE TABLE recovery_code (
    mailbox_id BIGINT NOT NULL REFERENCES mailbox (id) ON DELETE CASCADE,
    hash       BYTEA NOT NULL,
    issued_at  BIGINT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (mailbox_id, hash)
);
ALTER TABLE mailbox ADD COLUMN recovery_left BIGINT NOT NULL DEFAULT 0;
