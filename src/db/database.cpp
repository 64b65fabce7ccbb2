#include "scheduler/scheduler.h"
#include "db/database.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "cluster/ask_router.h"
#include "cluster/catalog_node_directory.h"
#include "common/error.h"
#include "db/node_heartbeat.h"
#include "engine/fingerprint.h"
#include "engine/load_model.h"
#include "engine/model_locator.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/transformer.h"
#include "jobs/corpus_options.h"
#include "residency/residency_manager.h"
#include "jobs/train_params.h"
#include "jobs/training_job.h"
#include "storage/artifact_store.h"
#include "storage/blob_store.h"
#include "storage/s3/s3_artifacts.h"
#include "storage/s3/s3_url.h"
#include "storage/catalog_events.h"
#include "storage/select_pass_through.h"
#include "storage/select_reader_pool.h"
#include "storage/sqlite_db.h"
#include "storage/store.h"

namespace cdb {

namespace fs = std::filesystem;

namespace {

// The tokenizer of a model when none is named: a model directory holds its
// own; beside a single-file (llama2.c) model, a tokenizer file or a unique
// tok*.bin.
fs::path find_tokenizer(const fs::path& model) {
  if (fs::is_directory(model)) return model;
  const fs::path dir = model.parent_path().empty() ? fs::path(".") : model.parent_path();
  for (const char* name : {"tokenizer.json", "tokenizer.model", "tokenizer.bin"})
    if (fs::exists(dir / name)) return dir / name;
  std::vector<fs::path> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (e.path() != model && n.rfind("tok", 0) == 0 && e.path().extension() == ".bin") found.push_back(e.path());
  }
  if (found.size() == 1) return found.front();
  throw InvalidArgument("no tokenizer found beside the model " + model.string() +
                        "; give the tokenizer path (e.g. tok512.bin) when opening the database");
}

}  // namespace

Database::Database(const fs::path& dir, const DatabaseOptions& options) : dir_(dir), options_(options) {
  std::error_code ec;
  if (options.catalog.empty() && !fs::exists(dir_ / "catalog.sqlite", ec) && !options.create_if_missing)
    throw NotFound("no database in " + dir_.string() + " (catalog.sqlite is missing)");
  StoreOptions so;
  so.catalog = options.catalog;
  so.catalog_retry = options.catalog_retry;
  so.create_if_missing = options.create_if_missing;
  so.s3_blobs = options.s3_blobs;
  fs::create_directories(dir_, ec);
  store_ = std::make_unique<Store>(dir_, so);
  fs::create_directories(dir_ / "scratch", ec);
  try {
    scratch_ = std::make_unique<BlobStore>(dir_ / "scratch");
  } catch (const CorruptData& e) {
    // scratch/ holds only what jobs make again (synthesized conversations,
    // checkpoints; docs/storage-format.md): a damaged one is started afresh,
    // never a reason to refuse the directory. Its jobs restart from step 0.
    std::fprintf(stderr, "cartridgedb: %s/scratch is damaged (%s); starting it afresh\n", dir_.c_str(), e.what());
    fs::remove_all(dir_ / "scratch", ec);
    fs::create_directories(dir_ / "scratch", ec);
    scratch_ = std::make_unique<BlobStore>(dir_ / "scratch");
  }
  // With blobs on S3, a job's scratch is in the bucket, where every node
  // sharing it can resume the job; else beside the store.
  if (options.s3_blobs.enabled())
    job_scratch_ = std::make_unique<S3Artifacts>(parse_s3_url(options.s3_blobs.url), options.s3_blobs.s3);
  else
    job_scratch_ = std::make_unique<BlobArtifacts>(*scratch_);
  select_readers_ = std::make_unique<SelectReaderPool>(store_->catalog());
  settings_ = std::make_unique<DataDirSettings>(store_->catalog());

  // The model: given, else the one the directory was created with.
  auto recorded_model = settings_->get("model_path");
  auto recorded_tok = settings_->get("tokenizer_path");
  if (!options.model_path.empty()) {
    model_path_ = fs::absolute(locate_model(options.model_path.string()));
  } else if (recorded_model) {
    model_path_ = *recorded_model;
  } else {
    throw InvalidArgument("database " + dir_.string() +
                          " has no model recorded yet; give a model path (a llama2.c .bin file or a Hugging Face "
                          "model directory) the first time it is opened");
  }
  if (!options.tokenizer_path.empty()) tokenizer_path_ = fs::absolute(options.tokenizer_path);
  else if (options.model_path.empty() && recorded_tok) tokenizer_path_ = *recorded_tok;
  else tokenizer_path_ = find_tokenizer(model_path_);
  if (!fs::exists(model_path_))
    throw NotFound("model " + model_path_.string() + (options.model_path.empty() ? " (recorded in " + dir_.string() + ")" : "") +
                   " does not exist; open the database with the model's current path");

  loaded_ = std::make_unique<LoadedModel>(load_model(model_path_));
  tokenizer_ = load_tokenizer(tokenizer_path_);
  format_ = detect_chat_format(model_path_);
  fingerprint_ = cdb::model_fingerprint(*loaded_, tokenizer_->fingerprint());
  if (!recorded_model) {
    settings_->set("model_path", model_path_.string());
    settings_->set("tokenizer_path", tokenizer_path_.string());
    settings_->set("model_fingerprint", fingerprint_);
  }
  const at::Device device(options.device);
  // bf16 on accelerators (half the memory traffic of decode), fp32 on CPUs
  // (whose bf16 matrix products are slow).
  const at::ScalarType dtype = device.is_cuda() ? at::kBFloat16 : at::kFloat;
  model_ = std::make_unique<Transformer>(*loaded_, device, dtype);
  train_model_ = std::make_unique<Transformer>(*loaded_, device);
  SchedulerOptions sched;
  if (options.kv_budget_bytes > 0) sched.kv_budget_bytes = options.kv_budget_bytes;
  scheduler_ = std::make_unique<Scheduler>(*model_, sched);

  ResidencyOptions ro;
  ro.device = device;
  ro.dtype = dtype;  // resident in the query model's dtype: decode reads them without converting
  ro.device_budget_bytes = options.memory_budget_bytes;
  residency_ = std::make_unique<ResidencyManager>(*store_, ro);
  sync_pins();

  jobs_ = std::make_unique<JobRunner>(
      store_->catalog(), [this](const JobRow& job, JobControl& control) { return run_job(job, control); },
      options.workers, JobLeaseOptions{options.node_name, options.job_lease_ms, options.job_renew_ms});
  jobs_->set_discard([this](int64_t job) { TrainingJob::erase_scratch(*job_scratch_, job); });
  if (options.start_workers) jobs_->start();

  nodes_ = std::make_unique<CatalogNodeDirectory>(store_->catalog());
  // Inert on SQLite (one server: nothing to hear). Every event is handled
  // alike: what it names may be resident here under other ids (a drop
  // names the corpus, not its Cartridges, whose rows are gone by now), and
  // a Resync says events were missed, so the catalog decides what is stale
  // and what is pinned.
  events_ = std::make_unique<CatalogEvents>(options.catalog, [this](const CatalogEvent&) {
    evict_stale();
    sync_pins();
  });
  // Once per open: a PostgreSQL catalog whose login could not create the
  // SELECT pass-through's reader role (sql/postgresql/009_select_reader.sql).
  if (auto warning = select_pass_through_warning(store_->catalog()))
    std::fprintf(stderr, "cartridgedb: warning: %s\n", warning->c_str());
}

Database::~Database() {
  events_.reset();
  heartbeat_.reset();
  if (jobs_) jobs_->stop();
}

void Database::join_fleet(const std::string& address) {
  if (heartbeat_) throw InvalidArgument("this node is already in the node registry as '" + heartbeat_->name() + "'");
  const std::string name = options_.node_name.empty() ? address : options_.node_name;
  // Two live nodes under one name would overwrite each other's row. The
  // same name at the same address is this node restarted: it takes over.
  if (const auto other = nodes_->node(name); other && other->address != address &&
                                             std::chrono::system_clock::now() - other->heartbeat <= 3 * heartbeat_interval())
    throw InvalidArgument("node name '" + name + "' is in use by the live node at " + other->address +
                          "; give this node another --node-name (or start it again once that node has stopped)");
  heartbeat_ =
      std::make_unique<NodeHeartbeat>(*nodes_, *residency_, route_counters_, name, address, heartbeat_interval());
}

void Database::enable_routing(AskRouterOptions options) {
  if (store_->catalog().dialect() != SqlDialect::PostgreSql)
    throw Unsupported("routing (--route on) needs a catalog shared by the nodes (--catalog postgresql://...); a SQLite "
                      "catalog has one server");
  if (!heartbeat_) throw InvalidArgument("routing needs the node in the node registry first (join_fleet)");
  if (router_) throw InvalidArgument("routing is already on");
  options.self = heartbeat_->name();
  options.heartbeat_interval = heartbeat_interval();
  router_ = std::make_unique<AskRouter>(*nodes_, route_counters_, std::move(options));
}

size_t Database::evict_stale() {
  std::set<int64_t> stale;
  for (const auto& entry : residency_->resident())
    for (int64_t id : entry.ids) {
      if (stale.count(id)) continue;
      const std::optional<CartridgeRow> row = store_->catalog().cartridge(id);
      if (!row || !is_servable(row->status)) stale.insert(id);
    }
  // forget() also drops the compositions holding the id and its pin;
  // queries running with it keep their CartridgeRef to the end.
  for (int64_t id : stale) residency_->forget(id);
  return stale.size();
}

void Database::sync_pins() {
  std::set<int64_t> want;
  for (int64_t corpus : settings_->pinned())
    if (auto c = planner().newest_cartridge(corpus)) want.insert(c->id);
  for (int64_t id : residency_->pinned())
    if (!want.count(id)) residency_->unpin(id);
  for (int64_t id : want) {
    try {
      residency_->pin(id);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "cartridgedb: cannot keep pinned cartridge %lld resident: %s\n",
                   static_cast<long long>(id), e.what());
    }
  }
}

AskPlanner Database::planner() const {
  return AskPlanner(*store_, *residency_, *tokenizer_, format_, model_->config().max_seq_len, fingerprint_);
}

int64_t Database::run_job(const JobRow& job, JobControl& control) {
  std::lock_guard lock(train_mu_);
  TrainingContext ctx{*store_, *job_scratch_, *train_model_, *tokenizer_, format_, fingerprint_, scheduler_.get()};
  int64_t id = TrainingJob(ctx, job, control).run();
  if (job.corpus_id) collect_versions(*job.corpus_id);
  return id;
}

int64_t Database::maybe_auto_train(int64_t corpus_id) {
  const std::optional<CorpusRow> corpus = store_->catalog().find_corpus(corpus_id);
  if (!corpus) return 0;
  const CorpusOptions o = CorpusOptions::from_json(corpus->options, corpus->description);
  if (!o.auto_train) return 0;
  const auto version = store_->catalog().latest_version(corpus_id);
  if (!version || store_->catalog().list_documents(corpus_id).empty()) return 0;
  TrainParams p;
  p.auto_queued = true;
  if (o.train_steps > 0) p.steps = o.train_steps;
  if (o.train_conversations > 0) p.conversations = o.train_conversations;
  JobRow r = jobs_->table().create_superseding(corpus_id, version->version, p.to_json(), unix_ms_now() + o.debounce_ms);
  jobs_->notify();
  return r.id;
}

void Database::collect_versions(int64_t corpus_id) {
  const std::optional<CorpusRow> corpus = store_->catalog().find_corpus(corpus_id);
  if (!corpus) return;
  const CorpusOptions o = CorpusOptions::from_json(corpus->options, corpus->description);
  std::vector<CartridgeRow> mine;
  for (auto& c : store_->catalog().list_cartridges(corpus_id))
    if (c.status == RowStatus::Ready && c.model_fingerprint == fingerprint_) mine.push_back(std::move(c));
  std::sort(mine.begin(), mine.end(), [](const CartridgeRow& a, const CartridgeRow& b) { return a.id > b.id; });
  if (!mine.empty() && settings_->is_pinned(corpus_id)) {
    residency_->pin(mine.front().id);
    for (size_t i = 1; i < mine.size(); ++i) residency_->unpin(mine[i].id);
  }
  for (size_t i = static_cast<size_t>(o.keep_versions); i < mine.size(); ++i) {
    // The cache first, so that no new query gets it; queries running with it
    // hold their CartridgeRef and finish with the version they started with.
    residency_->forget(mine[i].id);
    store_->remove_cartridge(mine[i].id);
  }
}

int64_t Database::pin(int64_t corpus_id) {
  settings_->pin(corpus_id);
  auto c = planner().newest_cartridge(corpus_id);
  if (!c) return 0;
  residency_->pin(c->id);
  return c->id;
}

void Database::unpin(int64_t corpus_id) {
  settings_->unpin(corpus_id);
  for (auto& c : store_->catalog().list_cartridges(corpus_id)) residency_->unpin(c.id);
}

void Database::drop_corpus(const std::string& name) {
  Catalog& cat = store_->catalog();
  const CorpusRow c = cat.corpus(name);
  jobs_->cancel_corpus(c.id);
  for (auto& row : cat.list_cartridges(c.id)) {
    residency_->forget(row.id);
    store_->remove_cartridge(row.id);
  }
  // The row goes first (documents, versions, tokens cascade with it); the
  // blobs they named are deleted right after, and any left by a crash in
  // between are collected at the next open (the Store's protocol).
  std::set<std::string> before, after;
  for (const auto& r : cat.blob_references()) before.insert(r.blob_key);
  {
    Catalog::Transaction tx(cat);
    Statement(cat.db(), "DELETE FROM pins WHERE corpus_id = ?").bind_all(c.id).run();
    Statement(cat.db(), "DELETE FROM corpora WHERE id = ?").bind_all(c.id).run();
    cat.notify({CatalogEvent::Kind::CorpusDropped, c.id, 0});
    tx.commit();
  }
  for (const auto& r : cat.blob_references()) after.insert(r.blob_key);
  store_->blobs().write([&](BlobStore::WriteTxn& w) {
    for (const auto& k : before)
      if (!after.count(k)) w.erase(k);
  });
}

}  // namespace cdb
