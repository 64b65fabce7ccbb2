-- 003_query_engine on PostgreSQL: ../003_query_engine.sql with BIGINT
-- (not_before_ms is unix milliseconds, past 32 bits) and DOUBLE PRECISION.

CREATE TABLE settings (
  key        TEXT PRIMARY KEY CHECK (length(key) >= 1),
  value      TEXT NOT NULL,
  updated_at TEXT NOT NULL DEFAULT cdb_utc_now()
);

CREATE TABLE pins (
  corpus_id  BIGINT PRIMARY KEY REFERENCES corpora(id) ON DELETE CASCADE,
  created_at TEXT NOT NULL DEFAULT cdb_utc_now()
);

ALTER TABLE jobs ADD COLUMN corpus_version BIGINT;
ALTER TABLE jobs ADD COLUMN not_before_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN step BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN total_steps BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN loss DOUBLE PRECISION;
ALTER TABLE jobs ADD COLUMN tokens_per_s DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN eta_s DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN cartridge_id BIGINT;
