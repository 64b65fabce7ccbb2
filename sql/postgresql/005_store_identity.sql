-- 005_store_identity on PostgreSQL: ../005_store_identity.sql with
-- PostgreSQL's timestamp default.

CREATE TABLE store_identity (
  one            INTEGER PRIMARY KEY CHECK (one = 1),
  store_id       TEXT NOT NULL CHECK (length(store_id) = 32),
  format_version INTEGER NOT NULL CHECK (format_version >= 1),
  created_at     TEXT NOT NULL DEFAULT cdb_utc_now()
);
