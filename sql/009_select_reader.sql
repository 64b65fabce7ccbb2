-- 009_select_reader: nothing on SQLite. On PostgreSQL
-- (postgresql/009_select_reader.sql) the role the SELECT pass-through's
-- copy runs under; a SQLite catalog is read through a read-only connection
-- instead (src/storage/catalog_reader.h). Recorded on both, so that the two
-- catalogs count the same versions.
SELECT 1;
