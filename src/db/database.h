// Database: one open data directory and everything that serves it: the
// Store (<dir>/blobs + <dir>/catalog.sqlite), the model and tokenizer, the
// Cartridge residency cache, the job runner with its scratch store
// (<dir>/scratch), and the directory's settings.
//
// The directory records the model it was created with (model_path,
// tokenizer_path, model_fingerprint in the settings table); a later open
// without a model path uses that. Cartridges are keyed by the fingerprint of
// the model that trained them, so a directory opened with another model
// never serves them (it trains its own).
//
// Thread-safety: statements may run from several threads (each with its own
// Executor); their questions join one continuous batch (the Scheduler, on
// the query model), while training jobs run on their own threads with their
// own Transformer (the weights are shared, read-only).
//
// Many servers, one store (docs/scale-out.md): on a PostgreSQL catalog the
// Database listens for the CatalogEvents other servers send (a Cartridge
// published, a corpus dropped, a grant changed, or a Resync after its
// listener reconnected) and evicts from its ResidencyManager the entries
// whose Cartridge rows are gone or no longer servable. join_fleet() enters the
// node into the catalog's node registry (SHOW NODES) with a heartbeat.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "engine/tokenizer/chat_format.h"
#include "planner/ask_planner.h"
#include "db/data_dir_settings.h"
#include "storage/catalog_retry.h"
#include "storage/s3/s3_options.h"
#include "jobs/job_runner.h"
#include "cluster/route_counters.h"

namespace cdb {

class ArtifactStore;
class AskRouter;
struct AskRouterOptions;
class BlobStore;
class CatalogEvents;
class NodeDirectory;
class NodeHeartbeat;
class ResidencyManager;
class Scheduler;
class SelectReaderPool;
class Store;
class Tokenizer;
class Transformer;
struct LoadedModel;

struct DatabaseOptions {
  std::filesystem::path model_path;      // empty: the one recorded in the directory
  std::filesystem::path tokenizer_path;  // empty: recorded, or found beside the model
  std::string device = "cpu";            // "cpu", "cuda", "cuda:1"
  int64_t memory_budget_bytes = 0;       // Cartridge cache on the device; 0: the residency default
  int64_t kv_budget_bytes = 0;           // KV of running questions (all slots); 0: the scheduler default
  int workers = 1;                       // training threads
  bool start_workers = true;             // false: jobs stay queued (tools that only read)
  bool create_if_missing = true;
  std::string catalog;  // StoreOptions::catalog: empty for <dir>/catalog.sqlite, or a postgresql:// URL
  S3BlobsOptions s3_blobs;  // blobs on S3, the local LMDB their cache (store.h)
  CatalogRetry catalog_retry;  // how a lost PostgreSQL catalog connection is made again
  // This node's name (--node-name): the job runner claims under it
  // (job_runner.h; empty: "<hostname>:<pid>") and the node registry lists
  // it (SHOW NODES; empty: join_fleet()'s address). The job lease and how
  // often it is renewed (0: a third of the lease); how often join_fleet()'s
  // heartbeat reports.
  std::string node_name;
  int64_t job_lease_ms = 10000;
  int64_t job_renew_ms = 0;
  int64_t heartbeat_interval_ms = 2000;
};

class Database {
 public:
  Database(const std::filesystem::path& dir, const DatabaseOptions& options = {});
  ~Database();  // stops the workers: running jobs go back to the queue
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  Store& store() { return *store_; }
  ResidencyManager& residency() { return *residency_; }
  JobRunner& jobs() { return *jobs_; }
  BlobStore& scratch() { return *scratch_; }  // the local scratch LMDB (<dir>/scratch)
  // Where jobs keep their datasets and checkpoints: the local scratch, or
  // the bucket's scratch/ when the blobs are on S3 (other nodes resume).
  ArtifactStore& job_scratch() { return *job_scratch_; }
  DataDirSettings& settings() { return *settings_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  Transformer& model() { return *model_; }
  Scheduler& scheduler() { return *scheduler_; }
  ChatFormat chat_format() const { return format_; }
  const std::string& model_fingerprint() const { return fingerprint_; }
  const std::filesystem::path& model_path() const { return model_path_; }
  const std::filesystem::path& tokenizer_path() const { return tokenizer_path_; }
  AskPlanner planner() const;

  // After document changes: queues a debounced training job when the corpus
  // has auto_train (superseding its queued auto job). Returns its id or 0.
  int64_t maybe_auto_train(int64_t corpus_id);
  // Keeps the newest keep_versions ready Cartridges of a corpus for the
  // loaded model and removes the rest (cache first, then store); moves the
  // pin to the newest. Called when a job commits a new version.
  void collect_versions(int64_t corpus_id);
  // PIN / UNPIN: recorded in the directory and applied to the cache.
  // Returns the id of the Cartridge now pinned (0: none yet).
  int64_t pin(int64_t corpus_id);
  void unpin(int64_t corpus_id);
  // DROP CORPUS: cancels its jobs, removes its Cartridges and the corpus.
  void drop_corpus(const std::string& name);

  // Enters this node into the node registry as options.node_name (empty:
  // `address`), reachable at `address` (host:port), and heartbeats until
  // the Database closes. Once only (InvalidArgument the second time, or for
  // a name or address the registry refuses, or a name a live node at
  // another address holds; IoError when the catalog cannot be written).
  void join_fleet(const std::string& address);
  // The registry (every node sharing the catalog) and this node's entry in
  // it: null before join_fleet().
  NodeDirectory& nodes() { return *nodes_; }
  const NodeHeartbeat* heartbeat() const { return heartbeat_.get(); }
  std::chrono::milliseconds heartbeat_interval() const {
    return std::chrono::milliseconds(options_.heartbeat_interval_ms);
  }
  // The SELECT pass-through's idle readers, shared by the sessions.
  SelectReaderPool& select_readers() { return *select_readers_; }
  // Routes this node's ASKs among the live nodes of the registry
  // (docs/scale-out.md, "Routing"), after join_fleet(). Unsupported on a
  // SQLite catalog (one server: no peers); InvalidArgument before
  // join_fleet(), a second time, or for options out of range.
  void enable_routing(AskRouterOptions options);
  // Null unless routing is on.
  AskRouter* router() { return router_.get(); }
  RouteCounters& route_counters() { return route_counters_; }
  // Forgets the resident entries whose Cartridge rows were deleted or can
  // no longer be served (another node dropped, collected or quarantined
  // them). Returns how
  // many Cartridge ids were forgotten. What CatalogEvents trigger.
  size_t evict_stale();
  // Makes this node's pins what the catalog's pins table says: the newest
  // servable Cartridge of each pinned corpus pinned (loaded now), every
  // other pin released. Another node's PIN, UNPIN or new version reaches
  // here through CatalogEvents. A pin that does not fit is reported on
  // stderr and skipped, not thrown: the other corpora's pins still apply.
  void sync_pins();

 private:
  int64_t run_job(const JobRow& job, JobControl& control);

  std::filesystem::path dir_;
  DatabaseOptions options_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<BlobStore> scratch_;
  std::unique_ptr<ArtifactStore> job_scratch_;
  std::unique_ptr<SelectReaderPool> select_readers_;  // after store_: it reads its catalog
  std::unique_ptr<DataDirSettings> settings_;
  std::filesystem::path model_path_, tokenizer_path_;
  std::unique_ptr<LoadedModel> loaded_;
  std::unique_ptr<Tokenizer> tokenizer_;
  ChatFormat format_ = ChatFormat::Plain;
  std::string fingerprint_;
  std::unique_ptr<Transformer> model_;         // queries
  std::unique_ptr<Scheduler> scheduler_;       // batches them on model_ (destroyed first)
  std::unique_ptr<Transformer> train_model_;   // the worker's (one worker at a time uses it)
  std::mutex train_mu_;
  std::unique_ptr<ResidencyManager> residency_;
  std::unique_ptr<JobRunner> jobs_;
  std::unique_ptr<NodeDirectory> nodes_;
  RouteCounters route_counters_;
  std::unique_ptr<AskRouter> router_;  // uses nodes_ and route_counters_
  // Last: stopped first, before what their threads use.
  std::unique_ptr<NodeHeartbeat> heartbeat_;
  std::unique_ptr<CatalogEvents> events_;
};

}  // namespace cdb
