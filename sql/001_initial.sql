-- 001_initial: corpora, their documents and versions, cartridges, jobs,
-- tokenized corpora and training datasets.
--
-- Every large value lives in LMDB under a blob key; rows here reference
-- those keys. The view blob_references lists every key a row references,
-- with the owning table and row id: the store garbage-collects LMDB keys
-- absent from it and marks rows damaged through it. A migration that adds
-- a blob-owning table must recreate the view.
--
-- Timestamps are UTC ISO-8601 text with milliseconds.

CREATE TABLE corpora (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
  description TEXT NOT NULL DEFAULT '',
  options     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(options)),
  created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE documents (
  id           INTEGER PRIMARY KEY,
  corpus_id    INTEGER NOT NULL REFERENCES corpora(id) ON DELETE CASCADE,
  name         TEXT NOT NULL CHECK (length(name) >= 1),
  content_hash TEXT NOT NULL CHECK (length(content_hash) = 32),  -- xxh3-128, hex
  bytes        INTEGER NOT NULL CHECK (bytes >= 0),
  blob_key     TEXT NOT NULL UNIQUE,
  status       TEXT NOT NULL DEFAULT 'ready' CHECK (status IN ('ready', 'damaged')),
  created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  UNIQUE (corpus_id, content_hash),
  UNIQUE (corpus_id, name)
);

-- One row per state of a corpus: version 1 is the first document added,
-- and every add or remove appends the next version. docs_hash is xxh3-128
-- over the sorted content hashes of the documents in that version.
CREATE TABLE corpus_versions (
  corpus_id   INTEGER NOT NULL REFERENCES corpora(id) ON DELETE CASCADE,
  version     INTEGER NOT NULL CHECK (version >= 1),
  docs_hash   TEXT NOT NULL,
  documents   INTEGER NOT NULL,
  bytes       INTEGER NOT NULL,
  created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (corpus_id, version)
);

CREATE TABLE cartridges (
  id                INTEGER PRIMARY KEY,
  corpus_id         INTEGER NOT NULL REFERENCES corpora(id) ON DELETE CASCADE,
  corpus_version    INTEGER NOT NULL,
  model_fingerprint TEXT NOT NULL,
  tokens            INTEGER NOT NULL CHECK (tokens >= 0),
  dtype             TEXT NOT NULL CHECK (dtype IN ('f32', 'bf16', 'f16')),
  status            TEXT NOT NULL DEFAULT 'ready'
                    CHECK (status IN ('building', 'ready', 'damaged', 'superseded', 'failed')),
  metrics           TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metrics)),
  bytes             INTEGER NOT NULL DEFAULT 0,  -- stored (compressed) bytes of all tensors
  created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX cartridges_by_corpus ON cartridges (corpus_id, corpus_version, model_fingerprint, status);

-- The tensors of a cartridge, one blob each (e.g. one per layer and K/V,
-- or one [layers, 2, heads, p, dim] tensor).
CREATE TABLE cartridge_tensors (
  cartridge_id INTEGER NOT NULL REFERENCES cartridges(id) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  blob_key     TEXT NOT NULL UNIQUE,
  dtype        TEXT NOT NULL,
  shape        TEXT NOT NULL CHECK (json_valid(shape)),
  bytes        INTEGER NOT NULL,
  PRIMARY KEY (cartridge_id, name)
);

-- A corpus version tokenized by one tokenizer: an i32 token tensor.
CREATE TABLE tokenized_corpora (
  id                    INTEGER PRIMARY KEY,
  corpus_id             INTEGER NOT NULL REFERENCES corpora(id) ON DELETE CASCADE,
  corpus_version        INTEGER NOT NULL,
  tokenizer_fingerprint TEXT NOT NULL,
  tokens                INTEGER NOT NULL,
  blob_key              TEXT NOT NULL UNIQUE,
  bytes                 INTEGER NOT NULL,
  status                TEXT NOT NULL DEFAULT 'ready' CHECK (status IN ('ready', 'damaged')),
  created_at            TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  UNIQUE (corpus_id, corpus_version, tokenizer_fingerprint)
);

-- Synthetic training data made by self-study for a corpus version.
CREATE TABLE datasets (
  id             INTEGER PRIMARY KEY,
  corpus_id      INTEGER NOT NULL REFERENCES corpora(id) ON DELETE CASCADE,
  corpus_version INTEGER NOT NULL,
  name           TEXT NOT NULL,
  params         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params)),
  blob_key       TEXT NOT NULL UNIQUE,
  bytes          INTEGER NOT NULL,
  status         TEXT NOT NULL DEFAULT 'ready' CHECK (status IN ('ready', 'damaged')),
  created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  UNIQUE (corpus_id, name)
);

CREATE TABLE jobs (
  id               INTEGER PRIMARY KEY,
  kind             TEXT NOT NULL,
  corpus_id        INTEGER REFERENCES corpora(id) ON DELETE SET NULL,
  state            TEXT NOT NULL DEFAULT 'queued'
                   CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
  progress         REAL NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
  progress_message TEXT NOT NULL DEFAULT '',
  attempts         INTEGER NOT NULL DEFAULT 0,
  error            TEXT,
  params           TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params)),
  created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  started_at       TEXT,
  finished_at      TEXT
);
CREATE INDEX jobs_by_state ON jobs (state, id);

CREATE VIEW blob_references (blob_key, owner_table, owner_id) AS
  SELECT blob_key, 'documents', id FROM documents
  UNION ALL SELECT blob_key, 'cartridges', cartridge_id FROM cartridge_tensors
  UNION ALL SELECT blob_key, 'tokenized_corpora', id FROM tokenized_corpora
  UNION ALL SELECT blob_key, 'datasets', id FROM datasets;
