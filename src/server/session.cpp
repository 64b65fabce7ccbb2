#include "server/session.h"

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include "server/message_reader.h"
#include "server/pg_dialect.h"
#include "server/pg_types.h"
#include "server/sql_text.h"

namespace cdb::server {

namespace {

// Type OIDs whose text is substituted as a number or a boolean.
bool numeric_oid(int32_t oid) {
  switch (oid) {
    case 20: case 21: case 23: case 26: case 700: case 701: case 1700: return true;
    default: return false;
  }
}
constexpr int32_t kBoolOid = 16;
constexpr size_t kMaxParameters = 32767;

ParamKind param_kind(int32_t oid) {
  if (oid == 0) return ParamKind::Unknown;  // from context (sql_text.h)
  if (numeric_oid(oid)) return ParamKind::Number;
  return oid == kBoolOid ? ParamKind::Boolean : ParamKind::Text;
}

// A parameter sent in binary format, as text. Text-like types are their
// bytes; integers, floats and booleans are decoded.
std::string binary_to_text(int32_t oid, std::string_view v, int n) {
  auto be = [&](size_t bytes) {
    if (v.size() != bytes)
      throw std::invalid_argument("parameter $" + std::to_string(n) + " has " + std::to_string(v.size()) +
                                  " bytes in binary format, expected " + std::to_string(bytes));
    uint64_t x = 0;
    for (char c : v) x = (x << 8) | static_cast<unsigned char>(c);
    return x;
  };
  switch (oid) {
    case 21: return std::to_string(static_cast<int16_t>(be(2)));
    case 23: return std::to_string(static_cast<int32_t>(be(4)));
    case 20: return std::to_string(static_cast<int64_t>(be(8)));
    case 700: {
      std::ostringstream s;
      s.precision(9);
      s << std::bit_cast<float>(static_cast<uint32_t>(be(4)));
      return s.str();
    }
    case 701: {
      std::ostringstream s;
      s.precision(17);
      s << std::bit_cast<double>(be(8));
      return s.str();
    }
    case kBoolOid: return be(1) ? "true" : "false";
    case 0: case 18: case 19: case 25: case 1042: case 1043: return std::string(v);
    default:
      throw cartridgedb::Unsupported("parameter $" + std::to_string(n) + " of type OID " + std::to_string(oid) +
                                     " in binary format is not supported; send it in text format");
  }
}

int16_t format_for(const std::vector<int16_t>& formats, size_t i) {
  if (formats.empty()) return 0;
  return formats.size() == 1 ? formats[0] : formats[i];
}

std::vector<int16_t> read_formats(MessageReader& r) {
  const int16_t n = r.i16();
  if (n < 0) throw ProtocolViolation("negative format code count");
  std::vector<int16_t> f(static_cast<size_t>(n));
  for (auto& x : f) {
    x = r.i16();
    if (x != 0 && x != 1) throw ProtocolViolation("invalid format code " + std::to_string(x));
  }
  return f;
}

// PostgreSQL's rule for Bind's result format codes.
void check_result_formats(const std::vector<int16_t>& formats, size_t columns) {
  if (formats.size() > 1 && formats.size() != columns)
    throw ProtocolViolation("bind message has " + std::to_string(formats.size()) + " result formats but query has " +
                            std::to_string(columns) + " columns");
}

std::vector<int32_t> oids_of(const cartridgedb::Result& r) {
  std::vector<int32_t> out(r.columns.size(), 25);
  for (size_t i = 0; i < out.size() && i < r.column_types.size(); ++i) out[i] = type_oid(r.column_types[i]);
  return out;
}

// Binary results only for the types that have a binary form (PostgreSQL
// refuses a type without a send function the same way).
void check_binary(const cartridgedb::Result& r, const std::vector<int16_t>& formats) {
  const auto oids = oids_of(r);
  for (size_t i = 0; i < oids.size(); ++i)
    if (format_for(formats, i) == 1 && !has_binary(oids[i]))
      throw SqlError("42883", "no binary output function available for type " +
                                  (i < r.column_types.size() ? r.column_types[i] : std::string("text")) +
                                  " (column \"" + r.columns[i] + "\"); ask for it in text format");
}

std::string tag_for(const cartridgedb::Result& r) {
  return (r.statement.empty() ? std::string("OK") : r.statement) + " " + std::to_string(r.rows.size());
}

}  // namespace

Session::Session(cartridgedb::Database& db, Sink sink, SessionOptions options)
    : sql_(db.new_session(options.identity)),
      pg_(options.identity.user, options.identity.superuser, options.startup_parameters),
      sink_(std::move(sink)),
      options_(std::move(options)) {}

void Session::write_rows(const cartridgedb::Result& r, size_t from, size_t to, const std::vector<int16_t>& formats) {
  const auto oids = oids_of(r);
  for (size_t i = from; i < to; ++i) {
    const auto& row = r.rows[i];
    out_.begin('D').i16(static_cast<int16_t>(row.size()));
    for (size_t c = 0; c < row.size(); ++c) {
      const int32_t oid = c < oids.size() ? oids[c] : 25;
      if (is_null(oid, row[c])) {
        out_.i32(-1);
        continue;
      }
      std::string v;
      try {
        v = format_for(formats, c) == 1 ? binary_value(oid, row[c]) : text_value(oid, row[c]);
      } catch (const std::invalid_argument& e) {
        throw SqlError(sqlstate::kInvalidTextRepresentation, e.what());
      }
      out_.i32(static_cast<int32_t>(v.size())).bytes(v);
    }
    out_.end();
  }
}

void Session::flush() {
  if (!out_.empty()) sink_(out_.take());
}

bool Session::handle(char type, std::string_view body) {
  if (skip_until_sync_ && type != 'S' && type != 'X') return true;
  try {
    switch (type) {
      case 'Q': return simple_query(body);
      case 'P': parse(body); return true;
      case 'B': bind(body); return true;
      case 'D': describe(body); return true;
      case 'E': execute(body); return true;
      case 'C': close(body); return true;
      case 'S': sync(); return true;
      case 'H': flush(); return true;
      case 'X': return false;
      // COPY messages outside COPY are ignored, as PostgreSQL does.
      case 'd': case 'c': case 'f': return true;
      default: {
        ErrorInfo e;
        e.severity = "FATAL";
        e.code = sqlstate::kProtocolViolation;
        e.message = "invalid frontend message type " + std::to_string(static_cast<unsigned char>(type));
        write_error(out_, e);
        flush();
        return false;
      }
    }
  } catch (const ConnectionLost&) {
    throw;
  } catch (...) {
    const bool keep = report_error();
    // In the extended protocol, the rest of the pipeline is skipped.
    if (type != 'Q') skip_until_sync_ = true;
    return keep;
  }
}

void Session::refuse(char type, const ErrorInfo& error) {
  if (skip_until_sync_ && type != 'S' && type != 'X') return;
  if (tx_status_ == 'T') tx_status_ = 'E';
  write_error(out_, error);
  if (type == 'Q') {
    write_ready_for_query(out_, tx_status_);
  } else if (type == 'S') {
    sync();
  } else {
    skip_until_sync_ = true;
  }
}

bool Session::report_error(std::string_view query, size_t statement_offset) {
  ErrorInfo e = describe_current_exception(query, statement_offset);
  bool keep = true;
  if (e.code == sqlstate::kQueryCanceled) {
    switch (cancel_reason_.load()) {
      case CancelReason::Timeout: e.message = "canceling statement due to statement timeout"; break;
      case CancelReason::User: e.message = "canceling statement due to user request"; break;
      case CancelReason::Shutdown:
        e.severity = "FATAL";
        e.code = sqlstate::kAdminShutdown;
        e.message = "terminating connection due to administrator command";
        keep = false;
        break;
      case CancelReason::None: break;
    }
  }
  if (tx_status_ == 'T') tx_status_ = 'E';
  write_error(out_, e);
  if (!keep) flush();
  return keep;
}

// ---- simple query ------------------------------------------------------------

bool Session::simple_query(std::string_view body) {
  MessageReader r('Q', body);
  const std::string_view query = r.cstr();  // a view: a big message is not copied
  r.finish();
  statements_.erase("");
  portals_.erase("");
  const auto statements = split_statements(query);
  if (statements.empty()) out_.begin('I').end();
  for (const auto& st : statements) {
    try {
      std::optional<cartridgedb::Result> result;
      const std::string tag = run(st.text, result);
      if (result && !result->columns.empty()) {
        write_row_description(out_, result->columns, {}, oids_of(*result));
        write_rows(*result, 0, result->rows.size(), {});
      }
      write_command_complete(out_, tag);
      flush();
    } catch (const ConnectionLost&) {
      throw;
    } catch (...) {
      if (!report_error(query, st.offset)) return false;
      break;
    }
  }
  write_ready_for_query(out_, tx_status_);
  flush();
  return true;
}

// ---- statements --------------------------------------------------------------

std::string Session::run(std::string_view text, std::optional<cartridgedb::Result>& result) {
  const TransactionVerb verb = transaction_verb(text);
  auto notice = [&](const char* code, std::string message) {
    ErrorInfo e;
    e.severity = "WARNING";
    e.code = code;
    e.message = std::move(message);
    write_error(out_, e, /*notice=*/true);
  };
  switch (verb) {
    case TransactionVerb::Begin:
      if (tx_status_ != 'I') notice("25001", "there is already a transaction in progress");
      if (tx_status_ == 'I') tx_status_ = 'T';
      return "BEGIN";
    case TransactionVerb::Commit: {
      if (tx_status_ == 'I') notice("25P01", "there is no transaction in progress");
      const bool failed = tx_status_ == 'E';
      tx_status_ = 'I';
      return failed ? "ROLLBACK" : "COMMIT";
    }
    case TransactionVerb::Rollback:
      if (tx_status_ == 'I') notice("25P01", "there is no transaction in progress");
      tx_status_ = 'I';
      return "ROLLBACK";
    case TransactionVerb::None: break;
  }
  if (tx_status_ == 'E')
    throw SqlError(sqlstate::kInFailedTransaction,
                   "current transaction is aborted, commands ignored until end of transaction block");
  if (options_.log_statements)
    std::fprintf(stderr, "statement [%s]: %.*s\n", pg_.user().c_str(), static_cast<int>(std::min<size_t>(text.size(), 4096)),
                 text.data());
  std::string translated, show_name;
  if (auto tag = run_parameter_statement(text, result, translated, show_name)) return *tag;
  if (!translated.empty()) {
    result = run_engine(translated);
    return tag_for(*result);
  }
  try {
    result = run_engine(text);
  } catch (const cartridgedb::ParseError&) {
    // SHOW of a name that is neither a parameter nor one of the
    // language's SHOW statements.
    if (!show_name.empty())
      throw cartridgedb::UndefinedObject("unrecognized configuration parameter \"" + show_name + "\"");
    throw;
  }
  return tag_for(*result);
}

std::optional<std::string> Session::run_parameter_statement(std::string_view text,
                                                            std::optional<cartridgedb::Result>& result,
                                                            std::string& translated, std::string& show_name) {
  const PgStatement st = classify_pg_statement(text, pg_);
  auto report = [&](const std::string& name) {
    if (pg_.reported(name)) write_parameter_status(out_, name, pg_.get(name));
  };
  using K = PgStatement::Kind;
  switch (st.kind) {
    case K::Set:
      pg_.set(st.name, st.value);
      report(st.name);
      return "SET";
    case K::SetNoOp:
      return "SET";
    case K::Reset:
      pg_.reset(st.name);
      report(st.name);
      return "RESET";
    case K::ResetAll:
      pg_.reset_all();
      return "RESET";
    case K::Show: {
      cartridgedb::Result r;
      r.statement = "SHOW";
      r.columns = {st.name};
      r.column_types = {"text"};
      r.rows = {{pg_.get(st.name)}};
      result = std::move(r);
      return "SHOW";
    }
    case K::ShowAll: {
      cartridgedb::Result r;
      r.statement = "SHOW";
      r.columns = {"name", "setting", "description"};
      r.column_types = {"text", "text", "text"};
      for (const auto& [n, v] : pg_.all()) r.rows.push_back({n, v, ""});
      result = std::move(r);
      return "SHOW";
    }
    case K::Select:
      translated = st.sql;
      return std::nullopt;
    case K::PassThrough:
      show_name = st.show_name;
      return std::nullopt;
  }
  return std::nullopt;
}

cartridgedb::Result Session::describe_statement(std::string_view text) {
  cartridgedb::Result r;
  const PgStatement st = classify_pg_statement(text, pg_);
  if (st.kind == PgStatement::Kind::Show) {
    r.columns = {st.name};
  } else if (st.kind == PgStatement::Kind::ShowAll) {
    r.columns = {"name", "setting", "description"};
  } else if (st.kind == PgStatement::Kind::Select) {
    r.columns = sql_->columns(st.sql);
  } else if (st.kind == PgStatement::Kind::PassThrough) {
    r.columns = sql_->columns(text);
  }
  return r;
}

cartridgedb::Result Session::run_engine(std::string_view text) {
  cancel_->store(false);
  cancel_reason_ = CancelReason::None;
  // The server's --statement-timeout bounds every statement; a session's
  // statement_timeout may shorten it, not lift it.
  auto timeout = options_.statement_timeout;
  const auto own = pg_.statement_timeout();
  if (own.count() > 0 && (timeout.count() == 0 || own < timeout)) timeout = own;
  const auto deadline = timeout.count() > 0 ? std::chrono::steady_clock::now() + timeout
                                            : std::chrono::steady_clock::time_point::max();
  last_notice_state_.clear();
  cartridgedb::Callbacks cb;
  cb.is_cancelled = [this, deadline] {
    CancelReason why = CancelReason::None;
    if (options_.terminate && options_.terminate->load()) why = CancelReason::Shutdown;
    else if (cancel_->load()) why = CancelReason::User;
    else if (std::chrono::steady_clock::now() > deadline) why = CancelReason::Timeout;
    if (why == CancelReason::None) return false;
    CancelReason none = CancelReason::None;
    cancel_reason_.compare_exchange_strong(none, why);
    return true;
  };
  cb.on_progress = [this](const cartridgedb::Progress& p) { progress_notice(p); };
  if (!options_.on_statement) return sql_->execute(text, cb);
  try {
    cartridgedb::Result r = sql_->execute(text, cb);
    options_.on_statement(r.statement, true);
    return r;
  } catch (...) {
    options_.on_statement("error", false);
    throw;
  }
}

void Session::progress_notice(const cartridgedb::Progress& p) {
  const auto now = std::chrono::steady_clock::now();
  const std::string state = p.state + "/" + p.phase;
  if (state == last_notice_state_ && now - last_notice_ < options_.progress_interval) return;
  last_notice_ = now;
  last_notice_state_ = state;
  std::ostringstream m;
  m << "job " << p.job << " " << (p.state == "running" ? p.phase : p.state);
  if (p.total_steps > 0) m << " step " << p.step << "/" << p.total_steps;
  if (std::isfinite(p.loss)) m << " loss " << p.loss;
  m << " (" << static_cast<int>(std::lround(100 * p.fraction)) << "%)";
  ErrorInfo e;
  e.severity = "NOTICE";
  e.code = sqlstate::kSuccessfulCompletion;
  e.message = m.str();
  write_error(out_, e, /*notice=*/true);
  flush();
}

// ---- extended protocol -------------------------------------------------------

void Session::parse(std::string_view body) {
  MessageReader r('P', body);
  const std::string name(r.cstr());
  const std::string_view query = r.cstr();
  const int16_t n = r.i16();
  if (n < 0) throw ProtocolViolation("negative parameter type count");
  Prepared p;
  for (int16_t i = 0; i < n; ++i) p.param_types.push_back(r.i32());
  r.finish();
  if (!name.empty() && statements_.count(name))
    throw SqlError(sqlstate::kDuplicatePreparedStatement, "prepared statement \"" + name + "\" already exists");
  const auto parts = split_statements(query);
  if (parts.size() > 1)
    throw SqlError(sqlstate::kSyntaxError, "cannot insert multiple commands into a prepared statement");
  if (!parts.empty()) p.text = std::string(parts[0].text);
  const size_t used = static_cast<size_t>(count_parameters(p.text));
  // Bind and ParameterDescription count parameters in an int16.
  if (used > kMaxParameters)
    throw SqlError(sqlstate::kProgramLimitExceeded, "statement uses $" + std::to_string(used) + ", but at most " +
                                                        std::to_string(kMaxParameters) + " parameters can be bound");
  if (p.param_types.size() < used) p.param_types.resize(used, 0);
  statements_[name] = std::move(p);
  out_.begin('1').end();
}

void Session::bind(std::string_view body) {
  MessageReader r('B', body);
  const std::string portal_name(r.cstr());
  const std::string statement_name(r.cstr());
  const std::vector<int16_t> param_formats = read_formats(r);
  const int16_t n = r.i16();
  if (n < 0) throw ProtocolViolation("negative parameter count");
  // Views into the message: each value is copied once, into its Parameter.
  std::vector<std::optional<std::string_view>> raw(static_cast<size_t>(n));
  for (auto& v : raw) {
    const int32_t len = r.i32();
    if (len < -1) throw ProtocolViolation("invalid parameter length " + std::to_string(len));
    if (len >= 0) v = r.bytes(static_cast<size_t>(len));
  }
  Portal portal;
  portal.result_formats = read_formats(r);
  r.finish();
  if (!param_formats.empty() && param_formats.size() != 1 && param_formats.size() != raw.size())
    throw ProtocolViolation("bind message has " + std::to_string(param_formats.size()) + " parameter formats but " +
                            std::to_string(raw.size()) + " parameters");

  auto it = statements_.find(statement_name);
  if (it == statements_.end())
    throw SqlError(sqlstate::kUndefinedPreparedStatement, "prepared statement \"" + statement_name + "\" does not exist");
  const Prepared& st = it->second;
  if (raw.size() != st.param_types.size())
    throw ProtocolViolation("bind message supplies " + std::to_string(raw.size()) +
                            " parameters, but prepared statement \"" + statement_name + "\" requires " +
                            std::to_string(st.param_types.size()));
  try {
    std::vector<Parameter> params(raw.size());
    for (size_t i = 0; i < raw.size(); ++i) {
      const int32_t oid = st.param_types[i];
      params[i].kind = param_kind(oid);
      if (raw[i])
        params[i].value = format_for(param_formats, i) == 1 ? binary_to_text(oid, *raw[i], static_cast<int>(i + 1))
                                                             : std::string(*raw[i]);
    }
    portal.text = substitute_parameters(st.text, params);
  } catch (const std::invalid_argument& e) {
    throw SqlError(sqlstate::kInvalidParameterValue, e.what());
  }
  // One result format per column, or one for all, or none (text): checked
  // here against the columns the statement will return, before it runs,
  // and again against the columns it did return (ensure_executed). As in
  // PostgreSQL, a statement without a result ignores them.
  if (portal.result_formats.size() > 1 && !portal.text.empty() &&
      transaction_verb(portal.text) == TransactionVerb::None) {
    const size_t columns = describe_statement(portal.text).columns.size();
    if (columns > 0) check_result_formats(portal.result_formats, columns);
  }
  portals_[portal_name] = std::move(portal);
  out_.begin('2').end();
}

void Session::ensure_executed(Portal& p) {
  if (p.executed) return;
  p.executed = true;
  if (p.text.empty()) return;
  p.tag = run(p.text, p.result);
  if (p.result && !p.result->columns.empty()) {
    check_result_formats(p.result_formats, p.result->columns.size());
    check_binary(*p.result, p.result_formats);
  }
}

void Session::describe(std::string_view body) {
  MessageReader r('D', body);
  const uint8_t kind = r.i8();
  const std::string name(r.cstr());
  r.finish();
  if (kind == 'S') {
    auto it = statements_.find(name);
    if (it == statements_.end())
      throw SqlError(sqlstate::kUndefinedPreparedStatement, "prepared statement \"" + name + "\" does not exist");
    const Prepared& st = it->second;
    out_.begin('t').i16(static_cast<int16_t>(st.param_types.size()));
    for (int32_t oid : st.param_types) out_.i32(oid ? oid : 25);
    out_.end();
    // The columns without running it (running could have effects): the
    // statement is parsed with a placeholder for each parameter.
    std::vector<std::string> columns;
    if (!st.text.empty() && transaction_verb(st.text) == TransactionVerb::None) {
      std::vector<Parameter> placeholders(st.param_types.size());
      for (size_t i = 0; i < placeholders.size(); ++i) {
        placeholders[i].kind = param_kind(st.param_types[i]);
        placeholders[i].value = placeholders[i].kind == ParamKind::Boolean ? "true" : "1";
      }
      columns = describe_statement(substitute_parameters(st.text, placeholders)).columns;
    }
    if (columns.empty())
      out_.begin('n').end();
    else
      write_row_description(out_, columns);
  } else if (kind == 'P') {
    auto it = portals_.find(name);
    if (it == portals_.end()) throw SqlError(sqlstate::kInvalidCursorName, "portal \"" + name + "\" does not exist");
    // The columns of a statement are known once it has run, so Describe
    // runs it; Execute then sends the rows it kept.
    ensure_executed(it->second);
    const auto& res = it->second.result;
    if (res && !res->columns.empty()) {
      check_result_formats(it->second.result_formats, res->columns.size());
      write_row_description(out_, res->columns, it->second.result_formats, oids_of(*res));
    }
    else
      out_.begin('n').end();
  } else {
    throw ProtocolViolation("invalid DESCRIBE message subtype " + std::to_string(kind));
  }
}

void Session::execute(std::string_view body) {
  MessageReader r('E', body);
  const std::string name(r.cstr());
  const int32_t max_rows = r.i32();
  r.finish();
  auto it = portals_.find(name);
  if (it == portals_.end()) throw SqlError(sqlstate::kInvalidCursorName, "portal \"" + name + "\" does not exist");
  Portal& p = it->second;
  ensure_executed(p);
  if (p.text.empty()) {
    out_.begin('I').end();
    return;
  }
  if (p.result) {
    const auto& rows = p.result->rows;
    size_t end = rows.size();
    if (max_rows > 0) end = std::min(end, p.rows_sent + static_cast<size_t>(max_rows));
    write_rows(*p.result, p.rows_sent, end, p.result_formats);
    p.rows_sent = end;
    if (p.rows_sent < rows.size()) {
      out_.begin('s').end();
      return;
    }
  }
  write_command_complete(out_, p.tag);
}

void Session::close(std::string_view body) {
  MessageReader r('C', body);
  const uint8_t kind = r.i8();
  const std::string name(r.cstr());
  r.finish();
  if (kind == 'S') statements_.erase(name);
  else if (kind == 'P') portals_.erase(name);
  else throw ProtocolViolation("invalid CLOSE message subtype " + std::to_string(kind));
  out_.begin('3').end();
}

void Session::sync() {
  skip_until_sync_ = false;
  // Portals live until the end of the transaction; outside a block every
  // Sync ends one.
  if (tx_status_ == 'I') portals_.clear();
  write_ready_for_query(out_, tx_status_);
  flush();
}

}  // namespace cdb::server
