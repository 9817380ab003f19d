-- mailmfa store, schema 11: a notification that could not be sent is tried again (five minutes
-- later, three times in all) before it is given up; it counts its attempts.
ALTER TABLE notification ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
