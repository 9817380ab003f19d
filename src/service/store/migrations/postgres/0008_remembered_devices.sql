-- mailmfa store on PostgreSQL, schema 8: remembered devices, each only the keyed hash of its token.
CREATE TABLE remembered_device (
    mailbox_id BIGINT NOT NULL REFERENCES mailbox (id) ON DELETE CASCADE,
    hash       BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    last_used  BIGINT NOT NULL,
    PRIMARY KEY (mailbox_id, hash)
);
