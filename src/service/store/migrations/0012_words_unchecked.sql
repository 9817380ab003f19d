-- The words of challenge modes, providers and enrolment states are checked where they are
-- parsed (the domain), and again where they are read back; the table's own CHECK lists are
-- dropped so a new word needs no table rebuild. SQLite removes a CHECK by editing the table's
-- definition in place (the documented way to remove a constraint without copying the table); the
-- schema cookie is bumped after this script, so every connection reads the new definitions.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql, 'CHECK (challenge IN (''never'', ''always'', ''new-ip'', ''new-country''))', '')
 WHERE type = 'table' AND name = 'postoffice';
UPDATE sqlite_schema
   SET sql = replace(replace(replace(sql,
             'CHECK (challenge IN (''inherit'', ''never'', ''always'', ''new-ip'', ''new-country''))', ''),
             'CHECK (provider IN (''totp'', ''sms'', ''smtp''))', ''),
             'CHECK (totp_state IN (''none'', ''pending'', ''active''))', '')
 WHERE type = 'table' AND name = 'mailbox';
UPDATE sqlite_schema
   SET sql = replace(sql, 'CHECK (name IN (''totp'', ''sms'', ''smtp''))', '')
 WHERE type = 'table' AND name = 'provider';
PRAGMA writable_schema = OFF;
