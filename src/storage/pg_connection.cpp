#include "storage/pg_connection.h"

#include <libpq-fe.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <vector>

#include "common/error.h"
#include "storage/sql_placeholders.h"

namespace cdb {

namespace {

std::string trimmed(const char* msg) {
  std::string s = msg ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

class PgCursor : public SqlCursor {
 public:
  PgCursor(const PgConnection& db, std::string_view sql) : db_(db), shown_(sql) {
    RewrittenSql r = to_dollar_placeholders(sql);
    sql_ = std::move(r.sql);
    params_.resize(static_cast<size_t>(r.parameters));
  }

  void bind_int64(int i, int64_t v) override { slot(i) = std::to_string(v); }
  void bind_double(int i, double v) override {
    if (std::isnan(v)) slot(i) = "NaN";
    else if (std::isinf(v)) slot(i) = v > 0 ? "Infinity" : "-Infinity";
    else {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", v);
      slot(i) = buf;
    }
  }
  void bind_text(int i, std::string_view v) override {
    // libpq reads text parameters up to their NUL: one inside would cut the
    // value short without a word.
    if (v.find('\0') != std::string_view::npos)
      throw InvalidArgument("a text value holds a NUL byte, which PostgreSQL text cannot store");
    slot(i) = std::string(v);
  }
  void bind_null(int i) override { slot(i).reset(); }

  bool step() override {
    if (!res_) {
      std::vector<const char*> values(params_.size());
      for (size_t k = 0; k < params_.size(); ++k) values[k] = params_[k] ? params_[k]->c_str() : nullptr;
      res_ = db_.run(sql_, static_cast<int>(values.size()), values.data(), shown_);
      rows_ = PQntuples(res_.get());
      row_ = 0;
    } else if (row_ < rows_) {
      ++row_;
    }
    return row_ < rows_;
  }

  int64_t int64(int col) const override {
    const char* v = value(col);
    if (!v || !*v) return 0;
    // Booleans come back as t/f where SQLite would give 1/0.
    if (v[0] == 't' && !v[1]) return 1;
    if (v[0] == 'f' && !v[1]) return 0;
    int64_t out = 0;
    const char* end = v + PQgetlength(res_.get(), row_, col);
    auto [p, ec] = std::from_chars(v, end, out);
    if (ec == std::errc() && p == end) return out;
    return static_cast<int64_t>(std::strtod(v, nullptr));  // a numeric or float column read as an integer
  }
  double real(int col) const override {
    const char* v = value(col);
    return v ? std::strtod(v, nullptr) : 0.0;
  }
  std::string text(int col) const override {
    const char* v = value(col);
    return v ? std::string(v, static_cast<size_t>(PQgetlength(res_.get(), row_, col))) : std::string();
  }
  bool is_null(int col) const override { return value(col) == nullptr; }

 private:
  std::optional<std::string>& slot(int i) {
    if (i < 1 || static_cast<size_t>(i) > params_.size())
      throw InvalidArgument("parameter " + std::to_string(i) + " is out of range for: " + shown_);
    return params_[static_cast<size_t>(i) - 1];
  }
  const char* value(int col) const {
    if (!res_ || row_ >= rows_ || col < 0 || col >= PQnfields(res_.get()))
      throw Error("column " + std::to_string(col) + " read with no row or out of range in: " + shown_);
    if (PQgetisnull(res_.get(), row_, col)) return nullptr;
    return PQgetvalue(res_.get(), row_, col);
  }

  const PgConnection& db_;
  std::string shown_, sql_;
  std::vector<std::optional<std::string>> params_;
  PgConnection::Result res_;
  int rows_ = 0, row_ = 0;
};

}  // namespace

void PgConnection::ConnDeleter::operator()(pg_conn* c) const { PQfinish(c); }
void PgConnection::ResultDeleter::operator()(pg_result* r) const { PQclear(r); }

PgConnection::PgConnection(const PgCatalogUrl& url) : url_(url), where_(url.redacted()) {
  const std::string port = std::to_string(url.port);
  std::vector<const char*> keys = {"host", "port", "dbname", "application_name", "client_encoding", "connect_timeout"};
  std::vector<const char*> values = {url.host.c_str(), port.c_str(), url.dbname.c_str(), "cartridgedb", "UTF8", "10"};
  if (!url.user.empty()) keys.push_back("user"), values.push_back(url.user.c_str());
  if (!url.password.empty()) keys.push_back("password"), values.push_back(url.password.c_str());
  keys.push_back(nullptr);
  values.push_back(nullptr);
  conn_.reset(PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/0));
  if (!conn_) throw ResourceExhausted("cannot allocate a PostgreSQL connection to " + where_);
  if (PQstatus(conn_.get()) != CONNECTION_OK)
    throw IoError("cannot connect to the PostgreSQL catalog " + where_ + ": " + trimmed(PQerrorMessage(conn_.get())) +
                  " (is the server running and reachable, and the database created?)");
  // Notices ("relation already exists, skipping") would go to stderr.
  PQsetNoticeProcessor(conn_.get(), [](void*, const char*) {}, nullptr);
}

PgConnection::~PgConnection() = default;

void PgConnection::fail(const pg_result* r, std::string_view sql) const {
  if (PQstatus(conn_.get()) != CONNECTION_OK)
    throw IoError("lost the connection to the PostgreSQL catalog " + where_ + ": " +
                  trimmed(PQerrorMessage(conn_.get())) + " (nothing after the last commit was applied; retry)");
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const std::string code = state ? state : "";
  const std::string msg = "PostgreSQL error in " + where_ + " (" + std::string(sql.substr(0, 300)) + "): " +
                          trimmed(r ? PQresultErrorMessage(r) : PQerrorMessage(conn_.get()));
  if (code.starts_with("23") || code.starts_with("22")) throw InvalidArgument(msg);
  if (code == "53100")
    throw IoError("no space left on device on the PostgreSQL server of " + where_ +
                  "; the change was rolled back, free space there and retry (" + msg + ")");
  throw IoError(msg + " [SQLSTATE " + code + "]");
}

PgConnection::Result PgConnection::run(const std::string& sql, int n, const char* const* values,
                                       std::string_view shown_sql) const {
  Result r(n == 0 ? PQexecParams(conn_.get(), sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0)
                  : PQexecParams(conn_.get(), sql.c_str(), n, nullptr, values, nullptr, nullptr, 0));
  const ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) fail(r.get(), shown_sql);
  const char* tuples = PQcmdTuples(r.get());
  changes_ = tuples && *tuples ? std::strtoll(tuples, nullptr, 10) : 0;
  return r;
}

void PgConnection::exec(std::string_view sql) const {
  // PQexec, not PQexecParams: a migration is several statements in one string.
  const std::string s(sql);
  Result r(PQexec(conn_.get(), s.c_str()));
  const ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) fail(r.get(), sql);
}

std::unique_ptr<SqlCursor> PgConnection::prepare(std::string_view sql) const {
  return std::make_unique<PgCursor>(*this, sql);
}

bool PgConnection::has_table(std::string_view name) const {
  PgCursor c(*this,
             "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
             "WHERE n.nspname = current_schema() AND c.relname = ?");
  c.bind_text(1, name);
  c.step();
  return c.int64(0) > 0;
}

const char* PgConnection::now_sql() const {
  // clock_timestamp, not now(): now() is the transaction's start, and a
  // job's started_at and finished_at may be set in one transaction.
  return "to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
}

}  // namespace cdb
