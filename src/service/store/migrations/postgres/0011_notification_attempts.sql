-- mailmfa store on PostgreSQL, schema 11: how often a notification was tried.
ALTER TABLE notification ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
