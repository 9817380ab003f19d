-- mailmfa store, schema 9: notifications waiting to be e-mailed to a mailbox, written in the
-- transaction of what they tell of and sent after it commits. A sender claims a row before it
-- sends (a claim older than five minutes is taken over) and removes it once sent or failed.
CREATE TABLE notification (
    id         INTEGER PRIMARY KEY,
    mailbox    TEXT NOT NULL,
    event      TEXT NOT NULL,
    at         INTEGER NOT NULL,
    ip         TEXT,
    country    TEXT,
    detail     TEXT,
    claimed_at INTEGER
);
CREATE INDEX notification_unclaimed ON notification (claimed_at, id);
