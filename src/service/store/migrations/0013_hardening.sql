-- mailmfa store, schema 13: what the login service's hardening keeps.
--
-- A post office may let remembered devices skip Prompt Always too (by default Always asks every
-- time, remembered or not).
ALTER TABLE postoffice ADD COLUMN remember_in_always INTEGER NOT NULL DEFAULT 0 CHECK (remember_in_always IN (0, 1));
-- The post offices an API client may act for (comma-separated names; empty = all of them).
ALTER TABLE api_client ADD COLUMN postoffices TEXT NOT NULL DEFAULT '';
-- Why a login transaction was begun: a login, or a fresh second step before a sensitive change.
ALTER TABLE login_transaction ADD COLUMN purpose TEXT NOT NULL DEFAULT 'login';
-- The sign-in a ticket completes: a ticket is redeemed only for the sign-in the webmail started.
ALTER TABLE signin_ticket ADD COLUMN signin_id TEXT NOT NULL DEFAULT '';

-- A fresh second step: an accepted step-up code lets its client make sensitive changes to the
-- mailbox for a few minutes. Only a keyed hash of the token is kept.
CREATE TABLE step_up (
    token_hash BLOB PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES api_client (id) ON DELETE CASCADE,
    mailbox    TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX step_up_expiry ON step_up (expires_at);
