-- 004_roles on PostgreSQL: ../004_roles.sql with PostgreSQL's timestamp
-- default.

ALTER TABLE corpora ADD COLUMN owner TEXT COLLATE "C" CHECK (owner IS NULL OR length(owner) >= 1);

CREATE TABLE corpus_grants (
  corpus_id  BIGINT NOT NULL REFERENCES corpora(id) ON DELETE CASCADE,
  grantee    TEXT COLLATE "C" NOT NULL CHECK (length(grantee) >= 1),
  created_at TEXT NOT NULL DEFAULT cdb_utc_now(),
  PRIMARY KEY (corpus_id, grantee)
);

CREATE INDEX corpora_owner ON corpora(owner);
