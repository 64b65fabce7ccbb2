-- 006_job_leases on PostgreSQL: ../006_job_leases.sql with BIGINT (unix
-- milliseconds pass 32 bits).

ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
ALTER TABLE jobs ADD COLUMN lease_expires_ms BIGINT;
ALTER TABLE jobs ADD COLUMN auto_version BIGINT;
CREATE UNIQUE INDEX jobs_auto_once ON jobs (corpus_id, auto_version);
CREATE INDEX jobs_by_lease ON jobs (state, lease_expires_ms);
