-- 002_artifacts: named tensors grouped by scope, for what self-study
-- training keeps between steps and across crashes: synthesized datasets
-- (scope 'dataset/<corpus id>/<version>/<params hash>') and training
-- checkpoints (scope 'job/<id>/checkpoint').
--
-- A scope is replaced as a whole (Store::put_artifacts): its new blobs are
-- committed in LMDB, then one transaction deletes the scope's rows and
-- inserts the new ones, then the old blobs are erased. A crash leaves
-- either the old or the new rows, and the other side's blobs are orphans
-- that the open-time garbage collection removes.
--
-- The 001 `datasets` table is dropped: nothing ever wrote it (no Store
-- API did), and datasets are artifacts now, so keeping it would only
-- leave a second, unused place for them in blob_references.

CREATE TABLE artifacts (
  id         INTEGER PRIMARY KEY,
  scope      TEXT NOT NULL CHECK (length(scope) BETWEEN 1 AND 300),
  name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  blob_key   TEXT NOT NULL UNIQUE,
  dtype      TEXT NOT NULL,
  shape      TEXT NOT NULL CHECK (json_valid(shape)),
  bytes      INTEGER NOT NULL CHECK (bytes >= 0),  -- stored (compressed) bytes
  meta       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(meta)),  -- the same for every row of one put
  status     TEXT NOT NULL DEFAULT 'ready' CHECK (status IN ('ready', 'damaged')),
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  UNIQUE (scope, name)
);

DROP VIEW blob_references;
DROP TABLE datasets;

CREATE VIEW blob_references (blob_key, owner_table, owner_id) AS
  SELECT blob_key, 'documents', id FROM documents
  UNION ALL SELECT blob_key, 'cartridges', cartridge_id FROM cartridge_tensors
  UNION ALL SELECT blob_key, 'tokenized_corpora', id FROM tokenized_corpora
  UNION ALL SELECT blob_key, 'artifacts', id FROM artifacts;
