-- The words of challenge modes, providers and enrolment states are checked where they are
-- parsed (the domain), and again where they are read back; the table's own CHECK lists are
-- dropped so a new word needs no migration.
ALTER TABLE postoffice DROP CONSTRAINT IF EXISTS postoffice_challenge_check;
ALTER TABLE mailbox DROP CONSTRAINT IF EXISTS mailbox_challenge_check,
                    DROP CONSTRAINT IF EXISTS mailbox_provider_check,
                    DROP CONSTRAINT IF EXISTS mailbox_totp_state_check;
ALTER TABLE provider DROP CONSTRAINT IF EXISTS provider_name_check;
