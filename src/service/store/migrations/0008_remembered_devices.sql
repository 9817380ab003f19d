-- mailmfa store, schema 8: devices a user asked to remember after an accepted code, each kept only
-- as the keyed hash of its token, with when it was remembered (it expires `remember.days` later)
-- and last used.
CREATE TABLE remembered_device (
    mailbox_id INTEGER NOT NULL REFERENCES mailbox (id) ON DELETE CASCADE,
    hash       BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    last_used  INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, hash)
) WITHOUT ROWID;
