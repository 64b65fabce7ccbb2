-- 009_select_reader on PostgreSQL: the role the SELECT pass-through copies
-- the catalog under (src/storage/pg_catalog_reader.h). A client's SELECT
-- never runs here: it runs on SQLite, over a copy of the tables it reads,
-- and the copy's SQL is fixed text of ours. The role makes that copy unable
-- to read anything but the allowlisted columns (src/storage/select_relations.cpp)
-- or to write at all, whatever a bug in our code did.
--
-- The role is NOLOGIN, named cdb_reader_ and the first 16 hex digits of
-- md5(<database>.<schema>), so that catalogs in other databases or schemas
-- of one cluster have roles of their own (roles are cluster-wide). It holds
-- SELECT on exactly the allowlisted columns (and cartridge_tensors.rowid,
-- the copy's order) and USAGE on the schema; nothing else. The login that
-- migrates is made a member, so that it can SET ROLE to it.
--
-- A login without CREATEROLE (or without the right to grant on the schema)
-- cannot do this: the migration then records itself without the role, and
-- the copy runs in a READ ONLY transaction without it; `cartridge serve`
-- says so at start (docs/scale-out.md, "The SELECT pass-through").
DO $$
DECLARE
  r text := 'cdb_reader_' || left(md5(current_database() || '.' || current_schema()), 16);
  s text := current_schema();
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
    EXECUTE format('CREATE ROLE %I NOLOGIN', r);
  END IF;
  EXECUTE format('GRANT %I TO %I', r, current_user);
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', s, r);
  EXECUTE format('GRANT SELECT (id, name, description, options, owner, created_at) ON %I.corpora TO %I', s, r);
  EXECUTE format('GRANT SELECT (id, corpus_id, name, content_hash, bytes, status, created_at) ON %I.documents TO %I', s, r);
  EXECUTE format('GRANT SELECT (corpus_id, version, docs_hash, documents, bytes, created_at) ON %I.corpus_versions TO %I', s, r);
  EXECUTE format('GRANT SELECT (id, corpus_id, corpus_version, model_fingerprint, tokens, dtype, status, metrics, bytes,'
                 ' created_at) ON %I.cartridges TO %I', s, r);
  EXECUTE format('GRANT SELECT (rowid, cartridge_id, name, dtype, shape, bytes) ON %I.cartridge_tensors TO %I', s, r);
  EXECUTE format('GRANT SELECT (id, corpus_id, corpus_version, tokenizer_fingerprint, tokens, bytes, status, created_at)'
                 ' ON %I.tokenized_corpora TO %I', s, r);
  EXECUTE format('GRANT SELECT (id, kind, corpus_id, state, progress, progress_message, attempts, error, params,'
                 ' created_at, started_at, finished_at, corpus_version, not_before_ms, step, total_steps, loss,'
                 ' tokens_per_s, eta_s, cartridge_id) ON %I.jobs TO %I', s, r);
  EXECUTE format('GRANT SELECT (corpus_id, created_at) ON %I.pins TO %I', s, r);
  EXECUTE format('GRANT SELECT (key, value, updated_at) ON %I.settings TO %I', s, r);
EXCEPTION WHEN insufficient_privilege THEN
  RAISE WARNING 'cartridgedb: cannot create the role % for the SELECT pass-through (%); its copies run read-only without it', r, SQLERRM;
END $$;
