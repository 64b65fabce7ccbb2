// cartridgedb: the embedded library. One header, one opaque handle.
//
//   auto db = cartridgedb::Database::open("data", {.model_path = "stories260K.bin",
//                                                  .tokenizer_path = "tok512.bin"});
//   db->execute("CREATE CORPUS pets");
//   db->execute("ADD DOCUMENT 'Mia has a cat named Tom.' TO pets");
//   db->execute("TRAIN CARTRIDGE FOR pets WITH (steps = 40) WAIT", {.on_progress = print_bar});
//   db->execute("ASK 'Mia has a cat' USING pets", {.on_token = print_piece});
//
// Ownership: open() returns the only owner of the handle; destroying it
// stops the background training (a running job goes back to the queue and
// resumes from its last checkpoint at the next open) and closes the
// directory. One process opens a directory at a time (IoError otherwise).
// A Database may be used from several threads; each call is independent
// except the SET values, which belong to a session: Database::execute runs
// in the handle's own session, and new_session() gives one per client (a
// server connection, say) with its own SET values and, optionally, its
// own role (SessionIdentity; the handle's own session is a superuser's).
//
// Errors: every failure throws a cartridgedb::Error subclass (below) whose
// message names what is wrong and, where there is one, what to do.
//
// The statements are those of docs/language.md; docs/query-engine.md
// describes planning, training jobs and results.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace cartridgedb {

// ---- errors -------------------------------------------------------------------

enum class ErrorKind {
  InvalidArgument,    // a malformed statement, option or value
  Parse,              // a syntax or option error with a position (ParseError)
  NotFound,           // a corpus, document, job, file or model that does not exist
  CorruptData,        // stored bytes that fail verification
  Unsupported,        // a model or file feature this build lacks
  IoError,            // the OS, SQLite or LMDB failed (or the directory is open elsewhere)
  ResourceExhausted,  // a memory budget or the context window cannot hold it
  Cancelled,          // the job was cancelled
  PermissionDenied,   // the session's role may not do this
  LimitExceeded,      // past a fixed limit (result rows or bytes, value length)
  QuotaExceeded,      // a user's quota (jobs, corpora, bytes, steps) is reached
  UndefinedObject,    // a setting (SET / SHOW) that does not exist
  JobFailed,          // the training job waited for failed (its own error is in the message)
  Internal,           // a bug or an unexpected library error
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

#define CARTRIDGEDB_ERROR(Name)                                                  \
  class Name : public Error {                                                    \
   public:                                                                       \
    explicit Name(const std::string& m) : Error(ErrorKind::Name, m) {}           \
                                                                                 \
   protected:                                                                    \
    Name(ErrorKind k, const std::string& m) : Error(k, m) {}                     \
  };
CARTRIDGEDB_ERROR(InvalidArgument)
CARTRIDGEDB_ERROR(NotFound)
CARTRIDGEDB_ERROR(CorruptData)
CARTRIDGEDB_ERROR(Unsupported)
CARTRIDGEDB_ERROR(IoError)
CARTRIDGEDB_ERROR(ResourceExhausted)
CARTRIDGEDB_ERROR(Cancelled)
CARTRIDGEDB_ERROR(PermissionDenied)
CARTRIDGEDB_ERROR(LimitExceeded)
CARTRIDGEDB_ERROR(QuotaExceeded)
CARTRIDGEDB_ERROR(UndefinedObject)
CARTRIDGEDB_ERROR(JobFailed)
#undef CARTRIDGEDB_ERROR

// A statement's syntax error, or an option / setting rejected at its place.
// what(): "syntax error at 1:24: expected USING, found ';'".
class ParseError : public InvalidArgument {
 public:
  // Which rule the statement broke: its grammar, or the type, range or name
  // of an option's value (a server reports that one as a bad value, 22023).
  enum class Cause { Syntax, Option };

  ParseError(const std::string& message, uint32_t line, uint32_t column, size_t offset, std::string excerpt,
             Cause cause = Cause::Syntax)
      : InvalidArgument(ErrorKind::Parse, message), line_(line), column_(column), offset_(offset),
        excerpt_(std::move(excerpt)), cause_(cause) {}
  Cause cause() const { return cause_; }
  uint32_t line() const { return line_; }      // 1-based
  uint32_t column() const { return column_; }  // 1-based, in characters
  size_t offset() const { return offset_; }    // bytes into the executed text
  // The line of the error and a caret under its column.
  const std::string& excerpt() const { return excerpt_; }

 private:
  uint32_t line_, column_;
  size_t offset_;
  std::string excerpt_;
  Cause cause_;
};

// ---- opening ------------------------------------------------------------------

struct OpenOptions {
  // A llama2.c .bin file or a Hugging Face model directory. Empty: the model
  // the directory was created with (recorded at its first open).
  std::string model_path;
  // Empty: the recorded one, else found beside the model.
  std::string tokenizer_path;
  std::string device = "cpu";       // "cpu", "cuda", "cuda:1"
  int64_t memory_budget_bytes = 0;  // Cartridge cache on the device; 0: a default
  // KV memory of the questions being answered at once (concurrent ASKs
  // share one batch; when it is full they queue). 0: 1 GiB.
  int64_t kv_budget_bytes = 0;
  int worker_threads = 1;           // background training
  bool start_workers = true;        // false: jobs stay queued in this process
  bool create_if_missing = true;
  // Where the catalog lives: empty for <dir>/catalog.sqlite, or
  // postgresql://user@host:port/db for a PostgreSQL database (the password,
  // if any, through PGPASSWORD or ~/.pgpass). Blobs stay in <dir>.
  std::string catalog;
  // When the PostgreSQL catalog's connection is lost (a restart, a
  // failover), how many times it is made again (-1: 8) and the wait before
  // the first retry, doubling up to 2 s (-1: 250 ms); beyond them a
  // statement fails with an error naming the catalog.
  int catalog_retries = -1;
  int64_t catalog_retry_wait_ms = -1;
  // Blobs on S3-compatible object storage (docs/scale-out.md): set blobs_url
  // to "s3://bucket/prefix"; the data directory's LMDB then caches them.
  // Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and
  // AWS_SESSION_TOKEN). Empty: blobs in the local LMDB.
  std::string blobs_url;
  std::string s3_endpoint;             // empty: AWS's endpoint of s3_region
  std::string s3_region = "us-east-1";
  int64_t cache_bytes = 0;             // the local blob cache; 0: 8 GiB
  int64_t s3_connect_timeout_ms = 0;   // 0: the client's default (3 s)
  int64_t s3_request_timeout_ms = 0;   // 0: the client's default (30 s)
  int s3_retries = -1;                 // -1: the client's default (4)
  // This node's name among the nodes sharing a PostgreSQL catalog
  // (docs/scale-out.md), unique among them: the job runner claims jobs
  // under it and the node registry (SHOW NODES) lists it. Empty:
  // "<hostname>:<pid>" for jobs, and join_fleet()'s address for the
  // registry (cartridge serve sets HOST:PORT for both).
  std::string node_name;
  // How long a claimed job's lease lasts (0: 10 s) and how often it is
  // renewed (0: a third of the lease). A job whose node dies moves to
  // another once its lease expires.
  int64_t job_lease_ms = 0;
  int64_t job_renew_ms = 0;
  // How often the node reports itself to the registry; SHOW NODES calls a
  // node alive while its last report is younger than three intervals.
  int64_t heartbeat_interval_ms = 2000;
};

// ASK routing among the nodes sharing a PostgreSQL catalog
// (docs/scale-out.md, "Routing"): a node relays a question to the live node
// that should answer it and returns that node's answer.
struct RouteOptions {
  // The fleet's shared secret (every node reads the same file): nodes log
  // in to each other with a password derived from it. 32 to 4096 bytes.
  std::string cluster_secret;
  int64_t connect_timeout_ms = 2000;  // to reach and log in to a peer
  int64_t relay_timeout_ms = 120000;  // for the peer's answer; past it, answered here
  double load_factor = 1.25;          // a node takes up to this times the fleet's mean load
};

// The user name nodes log in to each other as, and its password for a
// cluster secret (a server accepts it only with the same secret).
const char* node_principal();
std::string node_password(std::string_view cluster_secret);
// The user named by a node login's startup options (-c
// cartridgedb.act_as=NAME); std::nullopt when none is named. Error
// (InvalidArgument) when malformed.
std::optional<std::string> node_login_user(std::string_view startup_options);

// ---- results and callbacks ----------------------------------------------------

// Progress of a training job (WAIT JOB, TRAIN ... WAIT).
struct Progress {
  int64_t job = 0;
  std::string state;   // queued, running, done, failed, cancelled
  std::string phase;   // running: synthesizing, training, saving
  double fraction = 0; // of the whole job
  int64_t step = 0, total_steps = 0;
  double loss = 0;     // NaN before the first step
  double tokens_per_s = 0;
  double eta_s = 0;
  bool checkpointed = false;  // a crash from now on resumes at this step
  std::string message;
};

struct Result {
  std::string statement;  // e.g. "ASK", "SHOW JOBS"
  std::vector<std::string> columns;
  // Each column's type, named as PostgreSQL names it: int8, float8, text,
  // bool (cells "0" / "1"), timestamptz (ISO 8601 cells), json, and the
  // catalog types (oid, name, int2, int4, char, ...). Empty (or shorter
  // than columns): text.
  std::vector<std::string> column_types;
  std::vector<std::vector<std::string>> rows;
  std::string text;  // ASK: the answer; others: a one-line summary

  // The cell of `column` in `row`; NotFound when there is none.
  const std::string& at(size_t row, std::string_view column) const;
};

struct Callbacks {
  // ASK: the answer as it is generated, called on the engine's thread.
  std::function<void(std::string_view text)> on_token;
  std::function<void(const Progress& progress)> on_progress;  // WAIT: each report
  // execute_script: each statement's result as soon as it is done.
  std::function<void(const Result& result)> on_result;
  // Polled while a statement runs (ASK at least every 50 ms and between
  // tokens; WAIT JOB and TRAIN ... WAIT every 50 ms). Returning true stops
  // the statement with Cancelled and frees what it held: an ASK leaves its
  // batch at once; TRAIN ... WAIT also cancels the job it queued; WAIT JOB
  // only stops waiting (CANCEL JOB stops the job). Called from the thread
  // that runs the statement or the engine's; it must be cheap and
  // thread-safe (read an atomic flag set by a signal handler, say).
  std::function<bool()> is_cancelled;
};


// ---- who a session acts as ---------------------------------------------------

// A user's limits; -1: none. The defaults are an ordinary user's (so that
// no single user can exhaust the machine); superusers have no limits.
struct Quotas {
  int64_t queued_jobs = 2;                   // training jobs queued or running on the user's corpora
  int64_t steps_per_job = 500;               // TRAIN's steps
  int64_t corpora = 10;                      // corpora the user owns
  int64_t bytes_stored = int64_t{64} << 20;  // document bytes in the user's corpora
};

// The role a Session has (docs/server.md, "Security model"). The default
// is the embedded library's and the local shell's: a superuser without a
// name, reading any file the OS user can. A server gives each connection
// its authenticated user's identity.
struct SessionIdentity {
  std::string user;       // owner of the corpora the session creates
  bool superuser = true;  // false: only its own corpora, and those granted to it
  Quotas quotas;          // for ordinary users
  // true (remote sessions): LOAD FILE / LOAD DIRECTORY need a superuser
  // and read only inside load_root (nothing when it is empty).
  bool confine_server_files = false;
  std::string load_root;
  // A session a peer node opened to relay ASKs for `user`: its ASKs are
  // answered here, never routed on (docs/scale-out.md, "Routing").
  bool forwarded = false;
};

// ---- monitoring -----------------------------------------------------------------

// The engine's figures at one moment, for monitoring (cartridge serve
// --http exports them at /metrics). Counters count from the open.
struct EngineStats {
  // The continuous batch (docs/query-engine.md).
  int64_t batch_slots = 0, slot_tokens = 0;  // KV slots and tokens per slot
  int64_t running = 0, queued = 0;           // questions in the batch / waiting for a slot
  int64_t largest_batch = 0;                 // most questions decoded in one step
  int64_t decode_steps = 0, decoded_tokens = 0, prefilled_tokens = 0;
  // Cartridge residency, per tier: bytes held, budget, entries, and acquires
  // that found (hits) or loaded (misses) a Cartridge, and evictions.
  struct Tier {
    int64_t bytes = 0, budget = 0, entries = 0, hits = 0, misses = 0, evictions = 0;
  };
  Tier device, host;
  int64_t disk_loads = 0;  // Cartridge parts read from the store
  double load_gbps = 0;    // decompressed bytes read per second of those loads
  int64_t pinned_bytes = 0;
  // ASK routing (docs/scale-out.md): questions answered here now, relayed
  // to a peer, relayed here by a peer, and answered here because the chosen
  // peer could not.
  int64_t asks_in_flight = 0, asks_forwarded = 0, asks_received = 0, asks_fallback = 0;
};

// ---- the handles --------------------------------------------------------------

class Database;

// A session over a Database: statements run as with Database::execute, with
// SET values of its own (defaults for ASK's options; they start at the
// defaults). Cheap to make; any number per Database. Use one from one thread
// at a time; sessions of one Database may run concurrently (their questions
// join one batch). A session must not outlive its Database.
class Session {
 public:
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  Result execute(std::string_view statement, const Callbacks& callbacks = {});
  std::vector<Result> execute_script(std::string_view script, const Callbacks& callbacks = {});
  // The columns execute() would return for one statement, without running
  // it (a SELECT is prepared, not stepped). Errors as execute()'s.
  std::vector<std::string> columns(std::string_view statement);

 private:
  friend class Database;
  struct Impl;
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class Database {
 public:
  // Opens (or creates) a data directory.
  static std::unique_ptr<Database> open(const std::string& dir, const OpenOptions& options = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Exactly one statement (a trailing ';' allowed).
  Result execute(std::string_view statement, const Callbacks& callbacks = {});
  // Every statement of a script, in order; stops at the first error.
  std::vector<Result> execute_script(std::string_view script, const Callbacks& callbacks = {});

  // A new session with its own SET values (the handle's own session, which
  // execute() uses, is not affected by it), acting as a superuser.
  std::unique_ptr<Session> new_session();
  // The same, acting as `identity`: statements its role may not run throw
  // PermissionDenied, past a quota QuotaExceeded.
  std::unique_ptr<Session> new_session(const SessionIdentity& identity);

  // Enters this server into the catalog's node registry as
  // OpenOptions::node_name (empty: `address`), reachable at `address`
  // (host:port, where it listens), and reports itself every heartbeat
  // interval until the handle is destroyed. Once per handle.
  void join_fleet(const std::string& address);
  // Routes this node's ASKs among the live nodes of the registry, after
  // join_fleet(). Error (Unsupported) on a SQLite catalog; InvalidArgument
  // for options out of range or before join_fleet().
  void enable_routing(const RouteOptions& options);

  const std::string& dir() const;
  std::string model_fingerprint() const;
  EngineStats engine_stats() const;

 private:
  struct Impl;
  explicit Database(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "0.1.0"
const char* version();

}  // namespace cartridgedb
