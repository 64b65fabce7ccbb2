-- 003_query_engine: what the query engine keeps besides corpora and
-- cartridges.
--
-- settings: per data directory key/value pairs, e.g. the model the
-- directory was created with (model_path, tokenizer_path,
-- model_fingerprint), so that a later open without a model path uses it.
--
-- pins: corpora whose newest Cartridge the residency cache keeps loaded
-- (PIN CARTRIDGE FOR c); re-applied at open.
--
-- jobs gain the numbers of a training run's progress (one row update per
-- step), the corpus version it trains, when it may start (auto_train's
-- debounce) and the Cartridge it produced.

CREATE TABLE settings (
  key        TEXT PRIMARY KEY CHECK (length(key) >= 1),
  value      TEXT NOT NULL,
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE pins (
  corpus_id  INTEGER PRIMARY KEY REFERENCES corpora(id) ON DELETE CASCADE,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

ALTER TABLE jobs ADD COLUMN corpus_version INTEGER;
ALTER TABLE jobs ADD COLUMN not_before_ms INTEGER NOT NULL DEFAULT 0;  -- unix ms; queued jobs wait until then
ALTER TABLE jobs ADD COLUMN step INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN total_steps INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN loss REAL;
ALTER TABLE jobs ADD COLUMN tokens_per_s REAL NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN eta_s REAL NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN cartridge_id INTEGER;
