-- mailmfa store on PostgreSQL, schema 5: the networks a post office trusts (comma-separated CIDR).
ALTER TABLE postoffice ADD COLUMN trusted_networks TEXT NOT NULL DEFAULT '';
