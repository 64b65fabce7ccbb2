#include "shell/remote_session.h"

#include <libpq-fe.h>
#include <poll.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "language/parse_error.h"

namespace cdb::shell {

namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// The statement's first word, upper case ("ASK"), to know how to print it.
std::string first_word(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && !std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
  std::string w;
  while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i])))
    w += static_cast<char>(std::toupper(static_cast<unsigned char>(s[i++])));
  return w;
}

// PostgreSQL's error position is 1-based and counts characters.
cartridgedb::ParseError parse_error_at(std::string_view statement, const std::string& message, long position,
                                       cartridgedb::ParseError::Cause cause) {
  std::size_t offset = 0;
  uint32_t line = 1, column = 1;
  for (long chars = 1; offset < statement.size() && chars < position; ++offset) {
    const unsigned char c = static_cast<unsigned char>(statement[offset]);
    if ((c & 0xC0) == 0x80) continue;
    if (c == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    ++chars;
  }
  while (offset < statement.size() && (static_cast<unsigned char>(statement[offset]) & 0xC0) == 0x80) ++offset;
  return cartridgedb::ParseError(message, line, column, offset, lang::caret_excerpt(statement, offset), cause);
}

[[noreturn]] void throw_error(std::string_view statement, const PGresult* res) {
  const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
  const char* position = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
  const std::string code = state ? state : "";
  const std::string message = primary ? primary : trimmed(PQresultErrorMessage(res));
  if (position && *position) {
    // 22023: the server's code for an option's bad value (server/sqlstate.cpp).
    const auto cause = code == "22023" ? cartridgedb::ParseError::Cause::Option : cartridgedb::ParseError::Cause::Syntax;
    throw parse_error_at(statement, message, std::strtol(position, nullptr, 10), cause);
  }
  if (code == "57014") throw cartridgedb::Cancelled(message);
  if (code == "42P01") throw cartridgedb::NotFound(message);
  if (code == "42704") throw cartridgedb::UndefinedObject(message);  // an unknown setting
  if (code == "42501") throw cartridgedb::PermissionDenied(message);
  if (code == "54000") throw cartridgedb::LimitExceeded(message);
  if (code == "53400") throw cartridgedb::QuotaExceeded(message);
  if (code == "38000") throw cartridgedb::JobFailed(message);
  if (code.rfind("53", 0) == 0) throw cartridgedb::ResourceExhausted(message);
  if (code.rfind("08", 0) == 0 || code.empty()) throw cartridgedb::IoError(message);
  if (code.rfind("XX", 0) == 0) throw cartridgedb::Error(cartridgedb::ErrorKind::Internal, message);
  throw cartridgedb::InvalidArgument(message);
}

cartridgedb::Result to_result(std::string_view statement, const PGresult* res) {
  cartridgedb::Result r;
  const int columns = PQnfields(res), rows = PQntuples(res);
  for (int c = 0; c < columns; ++c) r.columns.push_back(PQfname(res, c));
  for (int i = 0; i < rows; ++i) {
    auto& row = r.rows.emplace_back();
    for (int c = 0; c < columns; ++c) row.push_back(PQgetisnull(res, i, c) ? "" : PQgetvalue(res, i, c));
  }
  r.statement = first_word(statement);
  const int answer = PQfnumber(res, "answer");
  if (r.statement == "ASK" && answer >= 0 && rows > 0) {
    r.text = r.rows[0][answer];
  } else if (columns == 0) {
    r.text = PQcmdStatus(const_cast<PGresult*>(res));
  }
  return r;
}

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

struct CancelDeleter {
  void operator()(PGcancel* c) const { PQfreeCancel(c); }
};

}  // namespace

std::string conninfo_for(std::string_view target) {
  if (target.find('=') != std::string_view::npos) return std::string(target);
  std::string host(target), port = "5433";
  if (auto colon = target.rfind(':'); colon != std::string_view::npos) {
    host = std::string(target.substr(0, colon));
    port = std::string(target.substr(colon + 1));
  }
  if (host.empty()) host = "127.0.0.1";
  return "host='" + host + "' port='" + port + "' application_name='cartridge shell'";
}

void RemoteSession::ConnDeleter::operator()(pg_conn* c) const { PQfinish(c); }

RemoteSession::RemoteSession(const std::string& target) : conn_(PQconnectdb(conninfo_for(target).c_str())) {
  if (!conn_) throw cartridgedb::ResourceExhausted("libpq could not allocate a connection");
  if (PQstatus(conn_.get()) != CONNECTION_OK)
    throw cartridgedb::IoError("cannot connect to " + target + ": " + trimmed(PQerrorMessage(conn_.get())));
  name_ = std::string(PQhost(conn_.get())) + ":" + PQport(conn_.get());
  PQsetNoticeReceiver(conn_.get(), &RemoteSession::on_notice, this);
}

RemoteSession::~RemoteSession() = default;

void RemoteSession::on_notice(void* self, const PGresult* notice) {
  auto* s = static_cast<RemoteSession*>(self);
  const char* text = PQresultErrorField(notice, PG_DIAG_MESSAGE_PRIMARY);
  if (s->events_ && s->events_->on_notice) s->events_->on_notice(text ? text : trimmed(PQresultErrorMessage(notice)));
}

// Blocks until the server sends something, polling the cancel flag every
// 50 ms; a cancel is sent once and the query's end (an error) awaited.
void RemoteSession::wait_for_input(const StatementEvents& events, bool& cancel_sent) {
  pollfd p{PQsocket(conn_.get()), POLLIN, 0};
  while (true) {
    if (!cancel_sent && events.is_cancelled && events.is_cancelled()) {
      std::unique_ptr<PGcancel, CancelDeleter> cancel(PQgetCancel(conn_.get()));
      char err[256] = "";
      if (!cancel || !PQcancel(cancel.get(), err, sizeof err))
        throw cartridgedb::IoError(std::string("could not send the cancel request: ") + err);
      cancel_sent = true;
    }
    const int n = ::poll(&p, 1, 50);
    if (n > 0) break;
    if (n < 0 && errno != EINTR) throw cartridgedb::IoError(std::string("poll: ") + std::strerror(errno));
  }
  if (!PQconsumeInput(conn_.get()))
    throw cartridgedb::IoError("connection lost: " + trimmed(PQerrorMessage(conn_.get())));
}

cartridgedb::Result RemoteSession::run(std::string_view statement, const StatementEvents& events) {
  if (!PQsendQuery(conn_.get(), std::string(statement).c_str()))
    throw cartridgedb::IoError("cannot send the statement: " + trimmed(PQerrorMessage(conn_.get())));
  events_ = &events;
  struct Reset {
    const StatementEvents*& e;
    ~Reset() { e = nullptr; }
  } reset{events_};
  bool cancel_sent = false;
  ResultPtr last, error;
  while (true) {
    while (PQisBusy(conn_.get())) wait_for_input(events, cancel_sent);
    ResultPtr res(PQgetResult(conn_.get()));
    if (!res) break;
    const ExecStatusType st = PQresultStatus(res.get());
    if (st == PGRES_FATAL_ERROR) {
      if (!error) error = std::move(res);
    } else if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK || st == PGRES_EMPTY_QUERY) {
      last = std::move(res);
    } else if (st == PGRES_BAD_RESPONSE || st == PGRES_NONFATAL_ERROR) {
      if (!error) error = std::move(res);
    }
  }
  if (error) throw_error(statement, error.get());
  if (PQstatus(conn_.get()) != CONNECTION_OK)
    throw cartridgedb::IoError("connection lost: " + trimmed(PQerrorMessage(conn_.get())));
  if (!last) throw cartridgedb::IoError("the server sent no result");
  return to_result(statement, last.get());
}

std::vector<std::string> RemoteSession::corpus_names() {
  const cartridgedb::Result r = run("SHOW CORPORA", {});
  std::vector<std::string> names;
  for (const auto& row : r.rows)
    if (!row.empty()) names.push_back(row[0]);
  return names;
}

}  // namespace cdb::shell
