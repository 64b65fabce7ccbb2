-- 007_nodes: the serve nodes sharing one catalog (SHOW NODES).
--
-- Each `cartridge serve` upserts its row when it starts listening and
-- again every --heartbeat-interval with what its ResidencyManager holds;
-- a clean stop deletes it. A row whose heartbeat_at is older than three
-- intervals belongs to a node that died or lost the catalog (SHOW NODES
-- says alive = false). Times are unix milliseconds of the writing node's
-- clock (BIGINT: they pass 32 bits on PostgreSQL; SQLite stores any
-- integer). resident: the device entries, least recently used first, each
-- its Cartridge ids joined by '+', entries by ',' ("3,4+5").

CREATE TABLE nodes (
  name TEXT PRIMARY KEY,
  address TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  heartbeat_at BIGINT NOT NULL,
  resident TEXT NOT NULL DEFAULT '',
  resident_bytes BIGINT NOT NULL DEFAULT 0,
  budget_bytes BIGINT NOT NULL DEFAULT 0
);
