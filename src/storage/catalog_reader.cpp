#include "storage/catalog_reader.h"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <random>
#include <map>
#include <set>

#include "common/byte_size.h"
#include "common/error.h"
#include "storage/pg_catalog_tables.h"
#include "storage/select_relations.h"
#include "storage/sql_identifier.h"
#include "storage/sqlite_db.h"

namespace cdb {

namespace {

// VM instructions between two progress-handler calls: each call polls
// is_cancelled (a clock read and two atomics), so this keeps the poll well
// under 1% of the work while a cancel still lands within a millisecond.
constexpr int kProgressOps = 10'000;

// Built-in functions with no effect outside the statement and no access to
// anything but their arguments. Not here, among others: fts3_tokenizer
// (hands out and takes C function pointers), load_extension, readfile and
// the like, zeroblob and randomblob (memory for nothing), sqlite_offset,
// changes / last_insert_rowid, and the FTS and R-tree auxiliaries; nor
// printf / format: SQLite 3.40 runs '%.*c' with a width of 900 million as
// that many appends inside one VM instruction (seconds that no progress
// handler can interrupt) and then returns '' instead of failing. Table-valued
// functions (json_each, pragma_*) are refused as the tables they are.
const std::set<std::string, std::less<>> kFunctions = {
    // scalar
    "abs", "char", "coalesce", "glob", "hex", "ifnull", "iif", "instr", "length", "like", "likelihood",
    "likely", "lower", "ltrim", "max", "min", "nullif", "quote", "random", "replace", "round", "rtrim",
    "sign", "soundex", "substr", "substring", "trim", "typeof", "unicode", "unlikely", "upper", "sqlite_version",
    // date and time
    "date", "time", "datetime", "julianday", "strftime", "unixepoch",
    // aggregate
    "avg", "count", "group_concat", "sum", "total",
    // window
    "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead", "first_value",
    "last_value", "nth_value",
    // JSON
    "json", "json_array", "json_array_length", "json_extract", "json_insert", "json_object", "json_patch",
    "json_remove", "json_replace", "json_set", "json_type", "json_valid", "json_quote", "json_group_array",
    "json_group_object", "->", "->>",
    // math
    "acos", "asin", "atan", "atan2", "ceil", "ceiling", "cos", "degrees", "exp", "floor", "ln", "log", "log10",
    "log2", "mod", "pi", "pow", "power", "radians", "sin", "sqrt", "tan", "trunc"};

std::string lower(const char* s) {
  std::string out = s ? s : "";
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string random_tag() {
  std::random_device rd;
  const uint64_t x = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  char b[17];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(x));
  return b;
}

struct TableColumn {
  std::string type;  // SQLite's declared type
  bool not_null = false;
};

// The columns `table` has in the main schema (empty when it does not exist).
std::map<std::string, TableColumn> table_columns(sqlite3* db, const char* table) {
  std::map<std::string, TableColumn> out;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT name, type, \"notnull\" FROM pragma_table_info(?1, 'main')", -1, &st, nullptr) !=
      SQLITE_OK) {
    sqlite3_finalize(st);
    throw IoError(std::string("cannot read the catalog's schema: ") + sqlite3_errmsg(db));
  }
  sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
  while (sqlite3_step(st) == SQLITE_ROW) {
    const auto* type = sqlite3_column_text(st, 1);
    out[reinterpret_cast<const char*>(sqlite3_column_text(st, 0))] = {
        type ? reinterpret_cast<const char*>(type) : "", sqlite3_column_int(st, 2) != 0};
  }
  sqlite3_finalize(st);
  return out;
}

// The PostgreSQL type of a catalog column: by the name where the catalog
// stores a kind SQLite has no type for (ISO-8601 text timestamps, JSON
// text), else by its declared type. Declared PostgreSQL names (the
// pg_catalog tables') stand as they are.
std::string pg_type_of(std::string_view column, std::string_view decltype_) {
  if (column == "created_at" || column == "started_at" || column == "finished_at" || column == "updated_at")
    return "timestamptz";
  if (column == "options" || column == "metrics" || column == "params") return "json";
  const std::string t = lower(std::string(decltype_).c_str());
  if (t.empty()) return "";
  if (t == "integer" || t == "int" || t == "bigint") return "int8";
  if (t == "real" || t == "double" || t == "float") return "float8";
  if (t == "text") return "text";
  if (t == "blob") return "bytea";
  return t;
}

}  // namespace

struct CatalogReader::Guard {
  enum class Stop { None, Cancelled, Instructions, Heap };

  const SelectLimits* limits = nullptr;
  std::string inner_prefix;        // names of the views that read base tables
  std::set<std::string> relations;  // the views a SELECT names
  // Per statement:
  const CorpusVisibility* visible = nullptr;
  const std::function<bool()>* is_cancelled = nullptr;
  int64_t instructions = 0;
  Stop stop = Stop::None;
  std::string denied;  // what the authorizer refused first
  std::set<std::string>* reads = nullptr;  // tables_read()'s: the base tables read

  void begin(const CorpusVisibility* v, const std::function<bool()>* c) {
    visible = v;
    is_cancelled = c;
    instructions = 0;
    stop = Stop::None;
    denied.clear();
    reads = nullptr;
  }

  // The inner views' names stay this connection's secret (see authorize).
  std::string redact(std::string msg) const {
    for (size_t at; (at = msg.find(inner_prefix)) != std::string::npos;) msg.erase(at, inner_prefix.size());
    return msg;
  }

  [[noreturn]] void refuse() const {
    throw PermissionDenied("a SELECT may not " + redact(denied.empty() ? "do this" : denied) +
                           "; it reads only the catalog's views (corpora, documents, corpus_versions, cartridges, "
                           "cartridge_tensors, tokenized_corpora, jobs, pins, settings) with built-in functions "
                           "that have no effects (docs/server.md, Limits)");
  }

  int deny(std::string what) {
    if (denied.empty()) denied = std::move(what);
    return SQLITE_DENY;
  }

  static int authorize(void* self, int action, const char* a3, const char* a4, const char* db_name,
                       const char* view) {
    auto* g = static_cast<Guard*>(self);
    switch (action) {
      case SQLITE_SELECT:
      case SQLITE_RECURSIVE:
        return SQLITE_OK;
      case SQLITE_READ: {
        const std::string table = lower(a3), db = lower(db_name), inner = view ? view : "";
        // Our inner views read the base tables; SQLite names the innermost
        // view, and only this connection knows their (random) names, so a
        // CTE or alias cannot pose as one.
        if (db == "main" && inner.rfind(g->inner_prefix, 0) == 0) {
          if (g->reads) g->reads->insert(table);
          return SQLITE_OK;
        }
        if (db == "temp" && table.rfind(g->inner_prefix, 0) == 0) {
          if (g->reads) g->reads->insert(table.substr(g->inner_prefix.size()));
          return SQLITE_OK;
        }
        if (db == "temp" && g->relations.count(table)) return SQLITE_OK;
        // A CTE (recursive ones included) or a subquery: no schema.
        if (db.empty()) return SQLITE_OK;
        return g->deny("read " + (db.empty() ? "" : db + ".") + table + (a4 && *a4 ? "." + lower(a4) : std::string()));
      }
      case SQLITE_FUNCTION: {
        const std::string f = lower(a4);
        if (kFunctions.count(f) || PgCatalogTables::function_names().count(f)) return SQLITE_OK;
        if (f == "cdb_visible" && view && std::string_view(view).rfind(g->inner_prefix, 0) == 0) return SQLITE_OK;
        return g->deny("call the function " + f + "()");
      }
      case SQLITE_PRAGMA:
        return g->deny("run PRAGMA " + lower(a3));
      case SQLITE_ATTACH:
        return g->deny("ATTACH a database");
      default:
        return g->deny("do anything but read (authorizer action " + std::to_string(action) + " on " +
                       (a3 ? a3 : "") + " " + (a4 ? a4 : "") + ")");
    }
  }

  static int progress(void* self) {
    auto* g = static_cast<Guard*>(self);
    g->instructions += kProgressOps;
    if (g->is_cancelled && *g->is_cancelled && (*g->is_cancelled)()) g->stop = Stop::Cancelled;
    else if (g->instructions > g->limits->max_instructions) g->stop = Stop::Instructions;
    else if (sqlite3_memory_used() > g->limits->max_sqlite_heap_bytes) g->stop = Stop::Heap;
    return g->stop == Stop::None ? 0 : 1;
  }

  static void cdb_visible(sqlite3_context* ctx, int, sqlite3_value** argv) {
    auto* g = static_cast<Guard*>(sqlite3_user_data(ctx));
    const int64_t id = sqlite3_value_type(argv[0]) == SQLITE_NULL ? 0 : sqlite3_value_int64(argv[0]);
    bool ok = true;
    try {
      ok = !g->visible || !*g->visible || (*g->visible)(id);
    } catch (...) {
      sqlite3_result_error(ctx, "the corpus visibility check failed", -1);
      return;
    }
    sqlite3_result_int(ctx, ok ? 1 : 0);
  }
};

CatalogReader::CatalogReader(const std::filesystem::path& catalog_file, SelectLimits limits)
    : CatalogReader(std::make_unique<SqliteDb>(catalog_file, /*read_only=*/true), limits) {}

CatalogReader::CatalogReader(std::unique_ptr<SqliteDb> connection, SelectLimits limits)
    : limits_(limits), conn_(std::move(connection)), db_(conn_->handle()), guard_(std::make_unique<Guard>()) {
  // The hardening the SQLite documentation lists for untrusted SQL
  // (https://sqlite.org/security.html).
  sqlite3_db_config(db_, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(db_, SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER, 0, nullptr);
  sqlite3_db_config(db_, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, nullptr);
  sqlite3_db_config(db_, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  sqlite3_db_config(db_, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, nullptr);
  sqlite3_limit(db_, SQLITE_LIMIT_LENGTH, limits_.max_value_bytes);
  sqlite3_limit(db_, SQLITE_LIMIT_SQL_LENGTH, 1 << 20);
  sqlite3_limit(db_, SQLITE_LIMIT_COLUMN, 100);
  sqlite3_limit(db_, SQLITE_LIMIT_EXPR_DEPTH, 100);
  sqlite3_limit(db_, SQLITE_LIMIT_COMPOUND_SELECT, 50);
  sqlite3_limit(db_, SQLITE_LIMIT_VDBE_OP, 100'000);
  sqlite3_limit(db_, SQLITE_LIMIT_FUNCTION_ARG, 16);
  sqlite3_limit(db_, SQLITE_LIMIT_ATTACHED, 0);
  sqlite3_limit(db_, SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 1000);
  sqlite3_limit(db_, SQLITE_LIMIT_VARIABLE_NUMBER, 100);
  sqlite3_limit(db_, SQLITE_LIMIT_TRIGGER_DEPTH, 1);
  sqlite3_limit(db_, SQLITE_LIMIT_WORKER_THREADS, 0);

  Guard& g = *guard_;
  g.limits = &limits_;
  g.inner_prefix = "cdb_" + random_tag() + "_";
  const int rc = sqlite3_create_function_v2(db_, "cdb_visible", 1, SQLITE_UTF8 | SQLITE_INNOCUOUS, &g, &Guard::cdb_visible,
                                  nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) throw IoError(std::string("cannot register cdb_visible: ") + sqlite3_errmsg(db_));
  // Sorts and temporary b-trees stay in memory, where the heap budget
  // sees them, instead of filling the disk.
  conn_->exec("PRAGMA temp_store = MEMORY");
  std::vector<PgRelation> described;
  for (const SelectRelation& r : select_relations()) {
    const std::map<std::string, TableColumn> have = table_columns(db_, r.name);
    std::string cols;
    PgRelation pg{r.name, {}};
    for (const char* c : r.columns) {
      auto it = have.find(c);
      if (it == have.end()) continue;
      cols += (cols.empty() ? "" : ", ") + quote_sql_identifier(c);
      pg.columns.push_back({c, pg_type_of(c, it->second.type), it->second.not_null});
    }
    if (cols.empty()) continue;  // a catalog from before this table
    described.push_back(std::move(pg));
    std::string where;
    if (r.corpus_expr) where = std::string(" WHERE cdb_visible(") + r.corpus_expr + ")";
    if (r.filter) where = std::string(" WHERE ") + r.filter;
    const std::string inner = quote_sql_identifier(g.inner_prefix + r.name);
    // OFFSET keeps SQLite's flattener from merging the inner view into
    // the statement: merged, a correlated subquery's read of it is
    // reported without the view's name (so it would be refused).
    conn_->exec("CREATE TEMP VIEW " + inner + " AS SELECT " + cols + " FROM main." + quote_sql_identifier(r.name) + where +
                  " LIMIT -1 OFFSET 0");
    conn_->exec("CREATE TEMP VIEW " + quote_sql_identifier(r.name) + " AS SELECT * FROM temp." + inner);
    g.relations.insert(r.name);
  }
  PgCatalogTables::create(*conn_, described);
  PgCatalogTables::register_functions(db_);
  for (const auto& name : PgCatalogTables::relation_names()) g.relations.insert(name);
  // A double-quoted name that is no column must be an error, not the
  // string SQLite would make of it (the PostgreSQL-dialect translation
  // quotes every identifier, and PostgreSQL has no such fallback).
  sqlite3_db_config(db_, SQLITE_DBCONFIG_DQS_DML, 0, nullptr);
  sqlite3_db_config(db_, SQLITE_DBCONFIG_DQS_DDL, 0, nullptr);
  conn_->exec("PRAGMA query_only = 1");
  sqlite3_set_authorizer(db_, &Guard::authorize, &g);
  sqlite3_progress_handler(db_, kProgressOps, &Guard::progress, &g);
}

CatalogReader::~CatalogReader() = default;

namespace {

using Stmt = std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)>;

std::vector<std::string> column_names(sqlite3_stmt* st) {
  std::vector<std::string> out;
  for (int i = 0; i < sqlite3_column_count(st); ++i) out.emplace_back(sqlite3_column_name(st, i));
  return out;
}

// Declared types ("" for an expression), from the column's origin.
std::vector<std::string> column_types(sqlite3_stmt* st) {
  std::vector<std::string> out;
  for (int i = 0; i < sqlite3_column_count(st); ++i) {
    const char* origin = sqlite3_column_origin_name(st, i);
    const char* decl = sqlite3_column_decltype(st, i);
    out.push_back(pg_type_of(origin ? origin : "", decl ? decl : ""));
  }
  return out;
}

// An expression's type from its values: integers int8, numbers float8,
// anything else (or no rows) text.
void infer_types(std::vector<std::string>& types, const std::vector<int>& seen) {
  for (size_t i = 0; i < types.size(); ++i) {
    if (!types[i].empty()) continue;
    const int s = seen[i];
    if (s == (1 << SQLITE_INTEGER)) types[i] = "int8";
    else if (s && (s & ~((1 << SQLITE_INTEGER) | (1 << SQLITE_FLOAT))) == 0) types[i] = "float8";
    else types[i] = "text";
  }
}

// Prepares `sql` under the authorizer (the guard set for the statement).
Stmt prepare(sqlite3* db, CatalogReader::Guard& g, std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), 0, &raw, nullptr);
  Stmt st(raw, sqlite3_finalize);
  if (rc != SQLITE_OK) {
    if (!g.denied.empty()) g.refuse();
    if ((rc & 0xff) == SQLITE_TOOBIG)
      throw LimitExceeded("the SELECT is longer than the pass-through's statement length limit (1 MiB)");
    throw InvalidArgument(g.redact(sqlite3_errmsg(db)));
  }
  if (!st) throw InvalidArgument("empty SELECT");
  // The connection is read-only and query_only; this is the last word.
  if (!sqlite3_stmt_readonly(st.get())) throw PermissionDenied("a SELECT may only read the catalog");
  return st;
}

}  // namespace

std::set<std::string> CatalogReader::tables_read(std::string_view sql) {
  std::set<std::string> out;
  guard_->begin(nullptr, nullptr);
  guard_->reads = &out;
  try {
    Stmt st = prepare(db_, *guard_, sql);
  } catch (...) {
    guard_->reads = nullptr;
    throw;
  }
  guard_->reads = nullptr;
  return out;
}

std::vector<std::string> CatalogReader::columns(std::string_view sql, const CorpusVisibility& visible) {
  guard_->begin(&visible, nullptr);
  Stmt st = prepare(db_, *guard_, sql);
  return column_names(st.get());
}

SelectResult CatalogReader::describe(std::string_view sql, const CorpusVisibility& visible) {
  guard_->begin(&visible, nullptr);
  Stmt st = prepare(db_, *guard_, sql);
  SelectResult out;
  out.columns = column_names(st.get());
  out.types = column_types(st.get());
  infer_types(out.types, std::vector<int>(out.types.size(), 0));
  return out;
}

SelectResult CatalogReader::run(std::string_view sql, const CorpusVisibility& visible,
                                const std::function<bool()>& is_cancelled) {
  Guard& g = *guard_;
  g.begin(&visible, &is_cancelled);
  Stmt st = prepare(db_, g, sql);
  SelectResult out;
  out.columns = column_names(st.get());
  out.types = column_types(st.get());
  const int n = static_cast<int>(out.columns.size());
  std::vector<int> seen(out.columns.size(), 0);  // storage classes met per column (bit per SQLITE_*)
  int64_t bytes = 0;
  for (;;) {
    const int rc = sqlite3_step(st.get());
    if (rc == SQLITE_DONE) break;
    if (rc == SQLITE_ROW) {
      if (static_cast<int64_t>(out.rows.size()) >= limits_.max_rows)
        throw LimitExceeded("the SELECT returns more than " + std::to_string(limits_.max_rows) +
                            " rows, the pass-through's row limit; add a LIMIT or a narrower WHERE");
      std::vector<std::string> row;
      row.reserve(static_cast<size_t>(n));
      for (int i = 0; i < n; ++i) {
        const int kind = sqlite3_column_type(st.get(), i);
        if (kind != SQLITE_NULL) seen[static_cast<size_t>(i)] |= 1 << kind;
        const unsigned char* t = sqlite3_column_text(st.get(), i);
        const int len = sqlite3_column_bytes(st.get(), i);
        bytes += len;
        if (bytes > limits_.max_result_bytes)
          throw LimitExceeded("the SELECT's result is larger than " + format_bytes(limits_.max_result_bytes) +
                              ", the pass-through's result size limit; select fewer rows or columns");
        row.emplace_back(t ? std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(len)) : std::string());
      }
      out.rows.push_back(std::move(row));
      continue;
    }
    switch (g.stop) {
      case Guard::Stop::Cancelled: throw Cancelled("SELECT was cancelled");
      case Guard::Stop::Instructions:
        throw LimitExceeded("the SELECT ran past " + std::to_string(limits_.max_instructions) +
                            " virtual machine instructions, the pass-through's work limit (a recursive CTE without "
                            "an end?)");
      case Guard::Stop::Heap:
        throw ResourceExhausted("the SELECT took SQLite's memory past " + format_bytes(limits_.max_sqlite_heap_bytes) +
                                ", the pass-through's memory limit; select fewer or smaller rows");
      case Guard::Stop::None: break;
    }
    // A table-valued function asks the authorizer when it runs.
    if ((rc & 0xff) == SQLITE_AUTH) g.refuse();
    if ((rc & 0xff) == SQLITE_TOOBIG)
      throw LimitExceeded("a value in the SELECT is longer than " + format_bytes(limits_.max_value_bytes) +
                          ", the pass-through's value length limit");
    throw IoError("SELECT failed: " + g.redact(sqlite3_errmsg(db_)) + " [code " + std::to_string(rc) + "]");
  }
  infer_types(out.types, seen);
  return out;
}

}  // namespace cdb
