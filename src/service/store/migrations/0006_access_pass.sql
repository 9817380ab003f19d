-- mailmfa store, schema 6: a mailbox's temporary access pass, kept only as a keyed hash, with when
-- it ends and whether it works once.
ALTER TABLE mailbox ADD COLUMN tap_hash BLOB;
ALTER TABLE mailbox ADD COLUMN tap_expires_at INTEGER;
ALTER TABLE mailbox ADD COLUMN tap_once INTEGER NOT NULL DEFAULT 0;
