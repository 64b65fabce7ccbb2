#include "storage/pg_connection.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <thread>
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

// The statement's first keyword, upper-cased ("" when none).
std::string first_word(std::string_view sql) {
  size_t i = 0;
  while (i < sql.size() && (std::isspace(static_cast<unsigned char>(sql[i])) || sql[i] == '(')) ++i;
  std::string w;
  for (; i < sql.size() && std::isalpha(static_cast<unsigned char>(sql[i])) && w.size() < 16; ++i)
    w += static_cast<char>(std::toupper(static_cast<unsigned char>(sql[i])));
  return w;
}

// Statements that running twice leaves the catalog as running them once
// does, so that one lost after it was sent may run again: reads, and
// statements that change only the session. (The catalog's SELECTs read;
// the one that does more, pg_notify, runs inside transactions, and a
// notification twice would only make listeners look twice.)
bool rerunnable(const std::string& verb) {
  return verb == "SELECT" || verb == "SHOW" || verb == "VALUES" || verb == "BEGIN" || verb == "START" ||
         verb == "SET" || verb == "LISTEN";
}

bool ends_transaction_by_rollback(const std::string& verb) { return verb == "ROLLBACK" || verb == "ABORT"; }

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

PgConnection::PgConnection(const PgCatalogUrl& url, CatalogRetry retry)
    : url_(url), where_(url.redacted()), retry_(retry) {
  if (retry_.retries < 0 || retry_.wait_ms < 0 || retry_.max_wait_ms < retry_.wait_ms)
    throw InvalidArgument("catalog retries must be 0 or more and the retry wait 0 s or more (--catalog-retries, "
                          "--catalog-retry-wait)");
  std::string error;
  conn_ = connect_once(error);
  if (!conn_)
    throw IoError("cannot connect to the PostgreSQL catalog " + where_ + ": " + error +
                  " (is the server running and reachable, and the database created?)");
}

PgConnection::Conn PgConnection::connect_once(std::string& error) const {
  const std::string port = std::to_string(url_.port);
  // Keepalives: a server that vanished without closing the connection (a
  // failover, a dead host) is noticed in about a minute, not the kernel's
  // two hours, so that a statement waiting on it fails and reconnects.
  std::vector<const char*> keys = {"host", "port", "dbname", "application_name", "client_encoding", "connect_timeout",
                                   "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count"};
  std::vector<const char*> values = {url_.host.c_str(), port.c_str(), url_.dbname.c_str(), "cartridgedb", "UTF8", "10",
                                     "1", "30", "10", "3"};
  if (!url_.user.empty()) keys.push_back("user"), values.push_back(url_.user.c_str());
  if (!url_.password.empty()) keys.push_back("password"), values.push_back(url_.password.c_str());
  keys.push_back(nullptr);
  values.push_back(nullptr);
  Conn c(PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/0));
  if (!c) throw ResourceExhausted("cannot allocate a PostgreSQL connection to " + where_);
  if (PQstatus(c.get()) != CONNECTION_OK) {
    error = trimmed(PQerrorMessage(c.get()));
    return nullptr;
  }
  // Notices ("relation already exists, skipping") would go to stderr.
  PQsetNoticeProcessor(c.get(), [](void*, const char*) {}, nullptr);
  return c;
}

void PgConnection::reconnect() const {
  conn_.reset();
  in_transaction_ = false;
  const auto t0 = std::chrono::steady_clock::now();
  std::string error;
  int64_t wait_ms = retry_.wait_ms;
  for (int attempt = 0;; ++attempt) {
    // The first attempt at once: after a restart the server is often back.
    if (Conn c = connect_once(error)) {
      conn_ = std::move(c);
      ++reconnects_;
      std::fprintf(stderr, "cartridgedb: reconnected to the PostgreSQL catalog %s (attempt %d)\n", where_.c_str(),
                   attempt + 1);
      return;
    }
    if (attempt >= retry_.retries) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    wait_ms = std::min(wait_ms * 2, retry_.max_wait_ms);
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  char took[32];
  std::snprintf(took, sizeof took, "%.1f", s);
  throw IoError("lost the connection to the PostgreSQL catalog " + where_ + " and could not make it again: " +
                std::to_string(retry_.retries + 1) + " attempts over " + took + " s failed, the last with: " + error +
                " (is the server running and reachable? cartridge serve's --catalog-retries and "
                "--catalog-retry-wait set how long to wait)");
}

bool PgConnection::before_statement(const std::string& verb, bool& outside) const {
  if (lost_in_transaction_) {
    if (ends_transaction_by_rollback(verb)) {
      // The server rolled the transaction back when the session ended.
      lost_in_transaction_ = false;
      return false;
    }
    if (verb != "BEGIN" && verb != "START")
      throw IoError("the connection to the PostgreSQL catalog " + where_ +
                    " was lost inside this transaction, which the server rolled back: nothing of it was applied; "
                    "roll back and run the transaction again");
    lost_in_transaction_ = false;
  }
  outside = !in_transaction_;
  if (!outside) return true;  // a loss inside a transaction is the statement's own error
  if (conn_) {
    // Outside a transaction nothing is pending on the connection, so what
    // the socket holds now is what the server sent on its own: after a
    // restart, its FATAL message and the end of the stream. Reading it
    // (libpq's socket never blocks) tells a dead connection before the
    // statement is sent to it.
    PGconn* c = conn_.get();
    for (int i = 0; i < 4 && PQstatus(c) == CONNECTION_OK; ++i) {
      pollfd p{PQsocket(c), POLLIN, 0};
      if (::poll(&p, 1, 0) <= 0) break;
      if (!PQconsumeInput(c)) break;
    }
    if (PQstatus(c) != CONNECTION_OK) conn_.reset();
  }
  if (!conn_) reconnect();
  return true;
}

bool PgConnection::connection_lost(const pg_result* r) const {
  if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) return true;
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  if (!state) return false;
  const std::string_view code(state);
  return code.starts_with("08") || code == "57P01" || code == "57P02" || code == "57P03";
}

void PgConnection::after_loss(const std::string& verb, std::string_view sql, bool outside, bool retried) const {
  const std::string why = conn_ ? trimmed(PQerrorMessage(conn_.get())) : std::string("no connection");
  conn_.reset();  // the next statement connects afresh
  in_transaction_ = false;
  const std::string lost = "lost the connection to the PostgreSQL catalog " + where_ + " (" + why + ")";
  if (verb == "COMMIT" || verb == "END")
    throw IoError(lost + " during COMMIT: whether the transaction committed is unknown; check the catalog before "
                         "running it again");
  if (!outside) {
    lost_in_transaction_ = true;
    throw IoError(lost + " inside a transaction, which the server rolled back: nothing of it was applied; run it "
                         "again (the next transaction reconnects)");
  }
  // Outside a transaction, a statement that cannot change anything by
  // running twice runs once more on a new connection. A write there
  // commits by itself: the server may have committed it before the
  // connection broke, so running it again could apply it twice.
  if (rerunnable(verb) && !retried) return;
  if (rerunnable(verb)) throw IoError(lost + " twice while running: " + std::string(sql.substr(0, 200)));
  throw IoError(lost + " while running a write outside a transaction (" + std::string(sql.substr(0, 200)) +
                "): whether it took effect is unknown (PostgreSQL commits such a statement by itself); check before "
                "running it again");
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
  const std::string verb = first_word(sql);
  for (bool retried = false;; retried = true) {
    bool outside = true;
    if (!before_statement(verb, outside)) return Result(PQmakeEmptyPGresult(nullptr, PGRES_COMMAND_OK));
    Result r(n == 0 ? PQexecParams(conn_.get(), sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0)
                    : PQexecParams(conn_.get(), sql.c_str(), n, nullptr, values, nullptr, nullptr, 0));
    const ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
      note_transaction_state();
      const char* tuples = PQcmdTuples(r.get());
      changes_ = tuples && *tuples ? std::strtoll(tuples, nullptr, 10) : 0;
      return r;
    }
    if (!connection_lost(r.get())) {
      note_transaction_state();
      fail(r.get(), shown_sql);
    }
    if (ends_transaction_by_rollback(verb)) {
      // Rolled back all the same: the server ends a lost session's transaction.
      conn_.reset();
      in_transaction_ = false;
      return Result(PQmakeEmptyPGresult(nullptr, PGRES_COMMAND_OK));
    }
    after_loss(verb, shown_sql, outside, retried);
  }
}

void PgConnection::exec(std::string_view sql) const {
  // PQexec, not PQexecParams: a migration is several statements in one string.
  const std::string s(sql);
  const std::string verb = first_word(s);
  for (bool retried = false;; retried = true) {
    bool outside = true;
    if (!before_statement(verb, outside)) return;
    Result r(PQexec(conn_.get(), s.c_str()));
    const ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
      note_transaction_state();
      return;
    }
    if (!connection_lost(r.get())) {
      note_transaction_state();
      fail(r.get(), sql);
    }
    if (ends_transaction_by_rollback(verb)) {
      conn_.reset();
      in_transaction_ = false;
      return;
    }
    after_loss(verb, sql, outside, retried);
  }
}

void PgConnection::note_transaction_state() const {
  const PGTransactionStatusType t = PQtransactionStatus(conn_.get());
  in_transaction_ = t == PQTRANS_INTRANS || t == PQTRANS_INERROR;
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
