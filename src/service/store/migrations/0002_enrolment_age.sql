-- mailmfa store, schema 2: when a TOTP secret was made, so a pending enrolment can expire. Secrets
-- made before this schema have no time; a pending one among them counts as expired.
ALTER TABLE mailbox ADD COLUMN totp_created_at INTEGER;
