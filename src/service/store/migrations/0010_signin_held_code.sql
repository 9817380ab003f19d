-- mailmfa store, schema 10: the code of a hosted sign-in is sent when its page is first opened,
-- not when the webmail starts the sign-in, so a browser remembered for the mailbox gets no code it
-- does not need. Until then the sign-in holds it, sealed with the store key.
ALTER TABLE signin ADD COLUMN held_code BLOB;
