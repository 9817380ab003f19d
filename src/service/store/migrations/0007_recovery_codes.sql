-- mailmfa store, schema 7: recovery codes, kept only as keyed hashes. A used code keeps its row
-- (with when it was used) until new codes replace the set, so "all used up" can be told apart
-- from "never issued". The mailbox keeps how many are unused, so the coverage report counts the
-- mailboxes without one in its single pass over the mailboxes.
CREATE TABLE recovery_code (
    mailbox_id INTEGER NOT NULL REFERENCES mailbox (id) ON DELETE CASCADE,
    hash       BLOB NOT NULL,
    issued_at  INTEGER NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (mailbox_id, hash)
) WITHOUT ROWID;
ALTER TABLE mailbox ADD COLUMN recovery_left INTEGER NOT NULL DEFAULT 0;
