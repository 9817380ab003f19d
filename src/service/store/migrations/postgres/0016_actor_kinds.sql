-- mailmfa store on PostgreSQL, schema 16: audit actors as `kind:name` (see the SQLite schema 16).
UPDATE audit SET actor = 'api:' || substr(actor, 8) WHERE actor LIKE 'client:%';
UPDATE audit SET actor = 'service:' || actor WHERE actor IN ('login', 'notify', 'http', 'web');
UPDATE audit SET actor = 'local:' || actor WHERE actor NOT LIKE '%:%';
