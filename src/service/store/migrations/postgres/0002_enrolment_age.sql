-- mailmfa store on PostgreSQL, schema 2: when a TOTP secret was made (see the SQLite schema 2).
ALTER TABLE mailbox ADD COLUMN totp_created_at BIGINT;
