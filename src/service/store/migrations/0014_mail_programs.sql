-- mailmfa store, schema 14: mail programs. Whether they may sign in with the mailbox password (a
-- policy word per post office and per mailbox; NULL: the level above decides), and the app
-- passwords that stand in for it, each kept only as a keyed hash bound to its mailbox, with the
-- protocols it is good for (comma-separated words), when it expires, and its last use (written at
-- most once a minute).
ALTER TABLE postoffice ADD COLUMN mail_programs TEXT;
ALTER TABLE mailbox ADD COLUMN mail_programs TEXT;

CREATE TABLE app_password (
    mailbox_id         INTEGER NOT NULL REFERENCES mailbox (id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    hash               BLOB NOT NULL,
    protocols          TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    expires_at         INTEGER,
    last_used_at       INTEGER,
    last_used_ip       TEXT,
    last_used_protocol TEXT,
    PRIMARY KEY (mailbox_id, name)
) STRICT;
CREATE UNIQUE INDEX app_password_hash ON app_password (mailbox_id, hash);
