-- 006_job_leases: jobs across nodes sharing one catalog.
--
-- A node runs a job under a lease: lease_owner (its --node-name) and
-- lease_expires_ms (unix ms), renewed while it runs. A running job whose
-- lease expired lost its node, and any node may claim it again and resume
-- it from its last checkpoint (Catalog::claim_job). Jobs run by a
-- single-node server have no lease (NULL) and are requeued at its open.
--
-- auto_version: the corpus version a debounced auto-training job was
-- queued for. Unique per corpus, so that nodes reacting to the same new
-- version queue one job between them (NULLs, every other job, never clash).

ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
ALTER TABLE jobs ADD COLUMN lease_expires_ms INTEGER;
ALTER TABLE jobs ADD COLUMN auto_version INTEGER;
CREATE UNIQUE INDEX jobs_auto_once ON jobs (corpus_id, auto_version);
CREATE INDEX jobs_by_lease ON jobs (state, lease_expires_ms);
