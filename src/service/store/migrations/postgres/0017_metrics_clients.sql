-- mailmfa store, schema 17: an API client may be given the metrics (`client add --metrics`), so a
-- Prometheus server on another machine can read `/v1/metrics` with its key (DESIGN §13).
ALTER TABLE api_client ADD COLUMN metrics BIGINT NOT NULL DEFAULT 0 CHECK (metrics IN (0, 1));
