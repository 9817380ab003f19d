-- mailmfa store, schema 5: the networks a post office trusts. A login from one of them counts as
-- known in Prompt by IP Address and Prompt by Country (comma-separated CIDR, as `parse_networks`
-- reads it; empty = none).
ALTER TABLE postoffice ADD COLUMN trusted_networks TEXT NOT NULL DEFAULT '';
