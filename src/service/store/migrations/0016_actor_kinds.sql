-- mailmfa store, schema 16: every audit entry names its actor as `kind:name` (DESIGN §12). Old
-- rows are rewritten where their kind is known: an API client's `client:X` is `api:X`; the login
-- service's own `login`, `notify` and `http` (and `web`, a web sign-in under no known name) are
-- `service:…` (a login decision's client or user was not recorded, so `login` stays the service's);
-- any other name without a colon is an operating-system user of the console or the command line,
-- which were not told apart: `local:<user>`. `web:<administrator>` rows stay as they are.
UPDATE audit SET actor = 'api:' || substr(actor, 8) WHERE actor LIKE 'client:%';
UPDATE audit SET actor = 'service:' || actor WHERE actor IN ('login', 'notify', 'http', 'web');
UPDATE audit SET actor = 'local:' || actor WHERE actor NOT LIKE '%:%';
