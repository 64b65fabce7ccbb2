#include "storage/pg_catalog_reader.h"

#include <libpq-fe.h>
#include <sqlite3.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "common/byte_size.h"
#include "common/error.h"
#include "storage/catalog.h"
#include "storage/catalog_reader.h"
#include "storage/pg_connection.h"
#include "storage/select_relations.h"
#include "storage/sql_statement.h"
#include "storage/sql_identifier.h"
#include "storage/sqlite_db.h"

namespace cdb {

namespace {

// PostgreSQL's type OIDs (pg_type.dat) of the catalog's column types.
constexpr Oid kBool = 16, kInt8 = 20, kInt2 = 21, kInt4 = 23, kFloat4 = 700, kFloat8 = 701, kNumeric = 1700;

// The largest in-memory copy kept for the next statement (see clear()).
constexpr int64_t kKeepCopyBytes = 16 << 20;

// Rows between two polls of is_cancelled and of SQLite's heap.
constexpr int64_t kPollRows = 256;

std::string memdb_uri() {
  std::random_device rd;
  const uint64_t x = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  char b[64];
  std::snprintf(b, sizeof b, "file:/cdb-select-%016llx?vfs=memdb", static_cast<unsigned long long>(x));
  return b;
}

// A filter of select_relations.cpp as SQL: {s} becomes the schema (the
// role's search_path may differ from the login's: "$user" resolves to the
// role), $1 an int8[] parameter.
std::string substitute(std::string_view filter, const std::string& schema) {
  std::string out;
  for (size_t i = 0; i < filter.size(); ++i) {
    if (filter.substr(i, 3) == "{s}") {
      out += schema;
      i += 2;
    } else if (filter.substr(i, 2) == "$1") {
      out += "$1::int8[]";
      i += 1;
    } else {
      out += filter[i];
    }
  }
  return out;
}

// One value of a query (the connection's own run(), which throws typed).
std::string scalar(const PgConnection& pg, const std::string& sql) {
  PgConnection::Result r = pg.run(sql, 0, nullptr, sql);
  if (PQntuples(r.get()) != 1 || PQgetisnull(r.get(), 0, 0)) throw IoError("no value from " + sql);
  return PQgetvalue(r.get(), 0, 0);
}

// ROLLBACK on destruction unless committed; PostgreSQL or SQLite.
class RollbackGuard {
 public:
  explicit RollbackGuard(const SqlConnection& db) : db_(db) {}
  ~RollbackGuard() {
    if (done_) return;
    try {
      db_.exec("ROLLBACK");
    } catch (...) {
      // A lost connection rolled back by itself; the next run reconnects.
    }
  }
  RollbackGuard(const RollbackGuard&) = delete;
  RollbackGuard& operator=(const RollbackGuard&) = delete;
  void commit() {
    db_.exec("COMMIT");
    done_ = true;
  }

 private:
  const SqlConnection& db_;
  bool done_ = false;
};

// A query read through a server-side cursor, kFetchRows rows a round trip:
// a big table is never all in memory, is_cancelled is polled between rows,
// and there is one result a batch (libpq's single-row mode, one result a
// row, took 7 us a row). The cursor closes with the copy's transaction.
class RowStream {
 public:
  // `cursor` is a fixed name of ours; `what` names the copy in messages;
  // `timeout_ms` is the transaction's statement_timeout.
  RowStream(const PgConnection& pg, std::string cursor, const std::string& sql, const std::vector<std::string>& params,
            std::string what, int64_t timeout_ms)
      : pg_(pg), cursor_(std::move(cursor)), what_(std::move(what)), timeout_ms_(timeout_ms) {
    exec("DECLARE " + cursor_ + " NO SCROLL CURSOR FOR " + sql, params);
  }

  // Moves to the next row; false at the end. A failure throws:
  // query_canceled (the statement_timeout) as LimitExceeded, else the
  // connection's typed error.
  bool next() {
    if (++row_ < rows_) return true;
    if (end_) return false;
    batch_ = exec("FETCH " + std::to_string(kFetchRows) + " FROM " + cursor_, {});
    rows_ = PQntuples(batch_.get());
    row_ = 0;
    end_ = rows_ < kFetchRows;
    return rows_ > 0;
  }
  const PGresult* result() const { return batch_.get(); }
  int row() const { return row_; }

 private:
  static constexpr int kFetchRows = 2000;

  PgConnection::Result exec(const std::string& sql, const std::vector<std::string>& params) const {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p.c_str());
    PgConnection::Result r(PQexecParams(pg_.handle(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                                        values.data(), nullptr, nullptr, 0));
    const ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
    const char* state = r ? PQresultErrorField(r.get(), PG_DIAG_SQLSTATE) : nullptr;
    if (state && std::string_view(state) == "57014")
      throw LimitExceeded("copying " + what_ + " from the PostgreSQL catalog ran past " + std::to_string(timeout_ms_) +
                          " ms, the SELECT pass-through's copy time limit (copy_timeout_ms)");
    pg_.fail(r.get(), sql);
  }

  const PgConnection& pg_;
  std::string cursor_, what_;
  int64_t timeout_ms_;
  PgConnection::Result batch_;
  int rows_ = 0, row_ = 0;
  bool end_ = false;
};

// Binds column `col` of row `row` of `r` as parameter col + 1 of `ins`, as
// SQLite stores such a value in the catalog.
void bind_value(sqlite3_stmt* ins, const PGresult* r, int row, int col) {
  const int p = col + 1;
  if (PQgetisnull(r, row, col)) {
    sqlite3_bind_null(ins, p);
    return;
  }
  const char* v = PQgetvalue(r, row, col);
  const int len = PQgetlength(r, row, col);
  switch (PQftype(r, col)) {
    case kBool: sqlite3_bind_int(ins, p, v[0] == 't' ? 1 : 0); return;
    case kInt2:
    case kInt4:
    case kInt8: {
      int64_t x = 0;
      auto [end, ec] = std::from_chars(v, v + len, x);
      if (ec == std::errc() && end == v + len) {
        sqlite3_bind_int64(ins, p, x);
        return;
      }
      break;  // cannot happen for an integer type; kept as text
    }
    case kFloat4:
    case kFloat8:
    case kNumeric:
      // PostgreSQL 12+ prints a float8 as the shortest text that reads back
      // as the same double; NaN and Infinity read as such (SQLite stores a
      // NaN as NULL, as it would on a SQLite catalog).
      sqlite3_bind_double(ins, p, std::strtod(v, nullptr));
      return;
    default: break;
  }
  sqlite3_bind_text(ins, p, v, len, SQLITE_TRANSIENT);
}

}  // namespace

std::string PgCatalogReader::role_name(const PgConnection& pg) {
  return scalar(pg, "SELECT 'cdb_reader_' || left(md5(current_database() || '.' || current_schema()), 16)");
}

std::optional<std::string> PgCatalogReader::role_problem(const PgConnection& pg) {
  const std::string role = role_name(pg);
  pg.exec("BEGIN READ ONLY");
  RollbackGuard tx(pg);
  try {
    pg.exec("SET LOCAL ROLE " + quote_sql_identifier(role));
  } catch (const Error& e) {
    return "the login of " + pg.describe() + " cannot SET ROLE " + role +
           " (it could not create the role: it needs CREATEROLE, see docs/scale-out.md); the SELECT pass-through's "
           "copies run in READ ONLY transactions without the role (" +
           e.what() + ")";
  }
  return std::nullopt;
}

PgCatalogReader::PgCatalogReader(const PgCatalogUrl& url, SelectLimits limits) : url_(url), limits_(limits) {
  connect();
  make_copy();
}

void PgCatalogReader::make_copy() {
  reader_.reset();
  copy_.reset();
  copy_db_ = nullptr;
  fillers_.clear();
  filled_.clear();
  // The copy: the catalog's SQLite schema by its migrations, in memory,
  // without constraints that would judge PostgreSQL's rows (they were
  // judged there) or cascade between tables. (No auto_vacuum: memdb keeps
  // its largest allocation anyway, and the pages clear() frees are reused.)
  const std::string uri = memdb_uri();
  auto writer = std::make_unique<SqliteDb>(uri, /*read_only=*/false, /*uri=*/true);
  copy_db_ = writer.get();
  copy_ = std::make_unique<Catalog>(std::move(writer));
  copy_db_->exec("PRAGMA foreign_keys = OFF");
  copy_db_->exec("PRAGMA ignore_check_constraints = ON");
  // The columns a copy leaves out (blob keys) that SQLite's schema wants
  // NOT NULL without a default, some UNIQUE: the row's number in the copy,
  // where no view shows them.
  for (const SelectRelation& rel : select_relations()) {
    Statement info(*copy_db_,
                   "SELECT name FROM pragma_table_info(?) WHERE \"notnull\" AND dflt_value IS NULL AND pk = 0");
    info.bind_all(std::string(rel.name));
    while (info.step()) {
      const std::string c = info.text(0);
      if (std::find(rel.columns.begin(), rel.columns.end(), c) == rel.columns.end()) fillers_[rel.name].push_back(c);
    }
  }
  reader_ = std::make_unique<CatalogReader>(std::make_unique<SqliteDb>(uri, /*read_only=*/true, /*uri=*/true), limits_);
}

PgCatalogReader::~PgCatalogReader() = default;

void PgCatalogReader::connect() {
  pg_ = std::make_unique<PgConnection>(url_);
  schema_ = scalar(*pg_, "SELECT quote_ident(current_schema())");
  pg_columns_.clear();
  {
    PgConnection::Result r = pg_->run(
        "SELECT table_name::text, column_name::text FROM information_schema.columns "
        "WHERE table_schema = current_schema()",
        0, nullptr, "the catalog's columns");
    std::set<std::pair<std::string, std::string>> have;
    for (int i = 0; i < PQntuples(r.get()); ++i) have.emplace(PQgetvalue(r.get(), i, 0), PQgetvalue(r.get(), i, 1));
    for (const SelectRelation& rel : select_relations())
      for (const char* c : rel.columns)
        if (have.count({rel.name, c})) pg_columns_[rel.name].push_back(c);
  }
  role_.reset();
  if (!role_problem(*pg_)) role_ = quote_sql_identifier(role_name(*pg_));
}

CatalogReader& PgCatalogReader::ready() {
  if (!reader_) make_copy();
  return *reader_;
}

std::vector<std::string> PgCatalogReader::columns(std::string_view sql, const CorpusVisibility& visible) {
  return ready().columns(sql, visible);
}

SelectResult PgCatalogReader::describe(std::string_view sql, const CorpusVisibility& visible) {
  return ready().describe(sql, visible);
}

SelectResult PgCatalogReader::run(std::string_view sql, const CorpusVisibility& visible,
                                  const std::function<bool()>& is_cancelled) {
  const std::set<std::string> tables = ready().tables_read(sql);  // refusals throw here
  struct Clear {
    PgCatalogReader& r;
    ~Clear() { r.clear(); }
  } clear_after{*this};
  fill(tables, visible, is_cancelled);
  return reader_->run(sql, visible, is_cancelled);
}

void PgCatalogReader::clear() {
  if (filled_.empty()) return;
  try {
    // SQLite's memdb keeps its largest size allocated until it is closed,
    // and that memory counts against every SELECT's heap budget: after a
    // big copy, a fresh copy instead of an emptied one.
    int64_t bytes = 0;
    {
      Statement size(*copy_db_, "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()");
      if (size.step()) bytes = size.int64(0);
    }
    if (bytes > kKeepCopyBytes) {
      make_copy();
      return;
    }
    copy_db_->exec("BEGIN");
    RollbackGuard tx(*copy_db_);
    for (const std::string& t : filled_) copy_db_->exec("DELETE FROM main." + quote_sql_identifier(t));
    tx.commit();
    filled_.clear();
  } catch (...) {
    // No rows of one statement may stay for the next: that one makes a
    // fresh copy (ready()).
    reader_.reset();
    copy_.reset();
    copy_db_ = nullptr;
  }
}

void PgCatalogReader::fill(const std::set<std::string>& tables, const CorpusVisibility& visible,
                           const std::function<bool()>& is_cancelled) {
  if (tables.empty()) return;
  const auto cancelled = [&] { return is_cancelled && is_cancelled(); };
  if (cancelled()) throw Cancelled("SELECT was cancelled");
  if (!pg_ || PQstatus(pg_->handle()) != CONNECTION_OK) connect();

  pg_->exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  RollbackGuard pg_tx(*pg_);
  pg_->exec("SET LOCAL statement_timeout = " + std::to_string(limits_.copy_timeout_ms));
  if (role_) pg_->exec("SET LOCAL ROLE " + *role_);

  copy_db_->exec("BEGIN");
  RollbackGuard copy_tx(*copy_db_);
  for (const std::string& t : filled_) copy_db_->exec("DELETE FROM main." + quote_sql_identifier(t));

  // The visible corpora's ids, as a PostgreSQL array (none: all visible).
  std::optional<std::string> ids;
  if (visible) {
    std::string list;
    RowStream s(*pg_, "cdb_copy_ids", "SELECT id FROM " + schema_ + ".corpora", {}, "the corpora's ids",
                limits_.copy_timeout_ms);
    int64_t n = 0;
    while (s.next()) {
      if (++n > limits_.max_copy_rows)
        throw LimitExceeded("the PostgreSQL catalog has more than " + std::to_string(limits_.max_copy_rows) +
                            " corpora, the SELECT pass-through's copy limit (max_copy_rows)");
      const std::string id = PQgetvalue(s.result(), s.row(), 0);
      int64_t x = 0;
      std::from_chars(id.data(), id.data() + id.size(), x);
      if (visible(x)) list += (list.empty() ? "" : ",") + id;
    }
    ids = "{" + list + "}";
  }

  for (const SelectRelation& rel : select_relations()) {
    if (!tables.count(rel.name)) continue;
    auto cols_it = pg_columns_.find(rel.name);
    if (cols_it == pg_columns_.end() || cols_it->second.empty()) continue;  // a catalog from before this table
    if (cancelled()) throw Cancelled("SELECT was cancelled");
    const std::vector<std::string>& cols = cols_it->second;

    std::string list, marks;
    for (const auto& c : cols) {
      list += (list.empty() ? "" : ", ") + quote_sql_identifier(c);
      marks += marks.empty() ? "?" : ", ?";
    }
    std::vector<std::string> conditions, params;
    if (rel.filter) conditions.push_back(rel.filter);
    if (ids && rel.pg_visible) {
      conditions.push_back("(" + substitute(rel.pg_visible, schema_) + ")");
      params.push_back(*ids);
    }
    std::string sql =
        "SELECT " + list + " FROM " + schema_ + "." + quote_sql_identifier(rel.name) + " AS " + quote_sql_identifier(rel.name);
    for (size_t i = 0; i < conditions.size(); ++i) sql += (i ? " AND " : " WHERE ") + conditions[i];
    sql += " ORDER BY " + std::string(rel.pg_order) + " LIMIT " + std::to_string(limits_.max_copy_rows + 1);

    sqlite3_stmt* raw = nullptr;
    std::string filler_list, filler_values;
    for (const auto& c : fillers_[rel.name]) filler_list += ", " + quote_sql_identifier(c), filler_values += ", ?";
    const std::string insert = "INSERT INTO main." + quote_sql_identifier(rel.name) + " (" + list + filler_list + ") VALUES (" +
                               marks + filler_values + ")";
    if (sqlite3_prepare_v2(copy_db_->handle(), insert.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
      sqlite3_finalize(raw);
      copy_db_->fail(insert, sqlite3_errcode(copy_db_->handle()));
    }
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> ins(raw, sqlite3_finalize);
    filled_.insert(rel.name);

    RowStream s(*pg_, "cdb_copy_" + std::string(rel.name), sql, params, "the catalog table " + std::string(rel.name),
                limits_.copy_timeout_ms);
    int64_t n = 0;
    while (s.next()) {
      if (++n > limits_.max_copy_rows)
        throw LimitExceeded("the SELECT reads the catalog table " + std::string(rel.name) + ", which has more than " +
                            std::to_string(limits_.max_copy_rows) +
                            " rows to copy from PostgreSQL, the pass-through's copy limit (max_copy_rows); it "
                            "cannot be answered on this catalog");
      if (n % kPollRows == 0) {
        if (cancelled()) throw Cancelled("SELECT was cancelled");
        if (sqlite3_memory_used() > limits_.max_sqlite_heap_bytes)
          throw ResourceExhausted("copying the catalog table " + std::string(rel.name) +
                                  " from PostgreSQL took SQLite's memory past " +
                                  format_bytes(limits_.max_sqlite_heap_bytes) + ", the pass-through's memory limit");
      }
      for (int c = 0; c < static_cast<int>(cols.size()); ++c) bind_value(ins.get(), s.result(), s.row(), c);
      // Fillers: the row's number, unique where the column must be.
      for (size_t f = 0; f < fillers_[rel.name].size(); ++f)
        sqlite3_bind_int64(ins.get(), static_cast<int>(cols.size() + f + 1), n);
      const int rc = sqlite3_step(ins.get());
      sqlite3_reset(ins.get());
      sqlite3_clear_bindings(ins.get());
      if (rc != SQLITE_DONE) copy_db_->fail(insert, rc);
    }
  }
  copy_tx.commit();
  pg_tx.commit();
}

}  // namespace cdb
