-- 005_store_identity: the identity of the data directory this catalog
-- belongs to. The same store id and format version are written in the
-- blob environment (LMDB sub-database "cdb.meta", key "identity") when the
-- store is created; every open compares the two before changing anything,
-- so a catalog from another directory, an emptied catalog beside a full
-- blob file, or a blob file swapped in from elsewhere is refused instead of
-- being taken for a new store (whose garbage collection would then treat
-- every blob as an orphan). One row at most.

CREATE TABLE store_identity (
  one            INTEGER PRIMARY KEY CHECK (one = 1),
  store_id       TEXT NOT NULL CHECK (length(store_id) = 32),
  format_version INTEGER NOT NULL CHECK (format_version >= 1),
  created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
