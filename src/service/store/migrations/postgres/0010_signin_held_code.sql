-- mailmfa store on PostgreSQL, schema 10: the sealed code a hosted sign-in holds until its page
-- is first opened.
ALTER TABLE signin ADD COLUMN held_code BYTEA;
