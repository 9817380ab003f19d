-- mailmfa store on PostgreSQL, schema 6: a mailbox's temporary access pass (only a keyed hash).
ALTER TABLE mailbox ADD COLUMN tap_hash BYTEA;
ALTER TABLE mailbox ADD COLUMN tap_expires_at BIGINT;
ALTER TABLE mailbox ADD COLUMN tap_once BIGINT NOT NULL DEFAULT 0;
