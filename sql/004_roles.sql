-- 004_roles: who owns a corpus and who else may use it.
--
-- corpora.owner: the user whose session created the corpus. NULL for
-- corpora created before roles existed, or by the embedded library and
-- the local shell (which act as the superuser of the OS user): those are
-- managed by superusers only.
--
-- corpus_grants: GRANT USAGE ON CORPUS c TO grantee. A grantee may ASK
-- with the corpus and see it (SHOW, SELECT); it may not change it. The
-- grantee 'public' is PUBLIC, every user (no user may be named public, as
-- in PostgreSQL). Users themselves live in the server's users file, not
-- here: a grant names a user that may not exist (yet).

ALTER TABLE corpora ADD COLUMN owner TEXT CHECK (owner IS NULL OR length(owner) >= 1);

CREATE TABLE corpus_grants (
  corpus_id  INTEGER NOT NULL REFERENCES corpora(id) ON DELETE CASCADE,
  grantee    TEXT NOT NULL CHECK (length(grantee) >= 1),
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (corpus_id, grantee)
);

CREATE INDEX corpora_owner ON corpora(owner);
