#include "cluster/peer_connection.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <optional>
#include <thread>

#include "cluster/node_login.h"

namespace cdb {

namespace {

// Waits until the socket is ready for `events` or `until`; false at the deadline.
bool wait_socket(int fd, short events, PeerConnection::Clock::time_point until) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - PeerConnection::Clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd, events, 0};
  const int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 50)));
  return n >= 0;  // 0: not yet (the caller loops); an interrupted poll also loops
}

std::string first_line(const char* text) {
  std::string s = text ? text : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s.substr(0, 512);
}

// The peer's statement error as the cdb::Error of its SQLSTATE (the
// inverse of the server's mapping, src/server/sqlstate.cpp). Classes that
// say the peer itself cannot answer (connection, shutdown, too many
// clients, authentication) are PeerUnavailable: the question is answered
// here instead.
[[noreturn]] void throw_peer_error(const std::string& peer, const std::string& code, const std::string& message) {
  const std::string klass = code.substr(0, 2);
  if (klass == "08" || klass == "28" || code == "57P01" || code == "57P02" || code == "57P03" || code == "53300")
    throw PeerUnavailable("peer node '" + peer + "' cannot answer (SQLSTATE " + code + "): " + message);
  if (code == "22023" || code == "42601" || klass == "22") throw InvalidArgument(message);
  if (code == "42P01") throw NotFound(message);
  if (code == "XX001") throw CorruptData(message);
  if (code == "0A000") throw Unsupported(message);
  if (code == "58030") throw IoError(message);
  if (code == "53200") throw ResourceExhausted(message);
  if (code == "57014") throw Cancelled(message);
  if (code == "42501") throw PermissionDenied(message);
  if (code == "54000") throw LimitExceeded(message);
  if (code == "53400") throw QuotaExceeded(message);
  if (code == "42704") throw UndefinedObject(message);
  if (code == "38000") throw JobFailed(message);
  throw Error("peer node '" + peer + "' failed (SQLSTATE " + code + "): " + message);
}

struct ResultFree {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultFree>;

}  // namespace

std::unique_ptr<PeerConnection> PeerConnection::connect(const std::string& peer, const std::string& address,
                                                        const std::string& password, const std::string& user,
                                                        Clock::time_point deadline,
                                                        std::shared_ptr<std::atomic<int>> cancellers) {
  std::string host, port;
  if (!address.empty() && address[0] == '[') {
    const size_t close = address.find("]:");
    if (close == std::string::npos) throw PeerUnavailable("peer node '" + peer + "' has address '" + address + "', not [IPV6]:PORT");
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string::npos || colon == 0) throw PeerUnavailable("peer node '" + peer + "' has address '" + address + "', not HOST:PORT");
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  // The listen address 0.0.0.0 / :: is where a node listens, not where it
  // is reached; on one machine (tests, a single host) loopback reaches it.
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  const std::string options = act_as_options(user);
  const char* keys[] = {"host", "port", "user", "password", "dbname", "options", "application_name", nullptr};
  const char* values[] = {host.c_str(), port.c_str(), kNodePrincipal, password.c_str(), "cartridge",
                          options.c_str(), "cartridgedb relay", nullptr};
  PGconn* c = PQconnectStartParams(keys, values, 0);
  if (!c) throw PeerUnavailable("peer node '" + peer + "' at " + address + ": out of memory for a connection");
  std::unique_ptr<PeerConnection> out(new PeerConnection(c, peer, std::move(cancellers)));
  PQsetNoticeReceiver(c, [](void*, const PGresult*) {}, nullptr);  // a peer's notices are not this node's log
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  for (;;) {
    if (PQstatus(c) == CONNECTION_BAD || st == PGRES_POLLING_FAILED) {
      const std::string why = first_line(PQerrorMessage(c));
      const bool refused = why.find("authentication") != std::string::npos || why.find("act_as") != std::string::npos;
      throw PeerUnavailable("peer node '" + peer + "' at " + address + (refused ? " refused the node login: " : ": ") +
                            why + (refused ? " (do the nodes have the same --cluster-secret-file and --users?)" : ""));
    }
    if (st == PGRES_POLLING_OK) break;
    if (Clock::now() >= deadline)
      throw PeerUnavailable("peer node '" + peer + "' at " + address + " did not accept the login in time");
    if (PQsocket(c) >= 0) wait_socket(PQsocket(c), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
    st = PQconnectPoll(c);
  }
  return out;
}

PeerConnection::~PeerConnection() { PQfinish(conn_); }

bool PeerConnection::reusable() const {
  return !broken_ && PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE;
}

void PeerConnection::send_cancel() {
  if (!cancellers_ || cancellers_->fetch_add(1) >= kMaxCancellers) {
    if (cancellers_) cancellers_->fetch_sub(1);
    return;  // too many pending already: the connection is closed instead
  }
  PGcancel* cancel = PQgetCancel(conn_);
  if (!cancel) {
    cancellers_->fetch_sub(1);
    return;
  }
  // Detached: PQcancel waits for the peer to close the cancel connection,
  // which a stopped peer never does. The thread owns the PGcancel (a copy
  // of the address and key, independent of this connection) and frees it.
  std::thread([cancel, count = cancellers_] {
    char err[256];
    PQcancel(cancel, err, sizeof err);  // best effort: the peer may be gone
    PQfreeCancel(cancel);
    count->fetch_sub(1);
  }).detach();
}

void PeerConnection::lost(const std::string& what) {
  broken_ = true;
  throw PeerUnavailable("peer node '" + peer_ + "' " + what);
}

PeerAnswer PeerConnection::relay(const std::string& statement, Clock::time_point deadline,
                                 const std::function<bool()>& is_cancelled) {
  if (!PQsendQuery(conn_, statement.c_str())) lost("did not take the statement: " + first_line(PQerrorMessage(conn_)));
  bool cancelled = false;
  Clock::time_point cancel_deadline = Clock::time_point::max();
  std::optional<PeerAnswer> answer;
  std::string error_code, error_message;
  size_t bytes = 0;
  for (;;) {
    if (!cancelled && is_cancelled && is_cancelled()) {
      send_cancel();
      cancelled = true;
      cancel_deadline = Clock::now() + kCancelGrace;
    }
    const auto now = Clock::now();
    if (cancelled && now >= cancel_deadline) {
      broken_ = true;  // the peer may still be answering on it
      throw Cancelled("ASK was cancelled (the peer node '" + peer_ + "' did not confirm in time)");
    }
    if (!cancelled && now >= deadline) {
      send_cancel();
      lost("did not answer within the relay timeout (--route-relay-timeout)");
    }
    // Once cancelled, the relay deadline no longer applies (it may be past:
    // waiting on it would spin), the cancel's grace does.
    wait_socket(PQsocket(conn_), POLLIN, cancelled ? cancel_deadline : deadline);
    if (!PQconsumeInput(conn_)) lost("dropped the connection: " + first_line(PQerrorMessage(conn_)));
    while (!PQisBusy(conn_)) {
      Result r(PQgetResult(conn_));
      if (!r) {
        // The statement is done.
        if (!error_code.empty()) {
          if (cancelled && error_code == "57014") throw Cancelled(error_message);
          throw_peer_error(peer_, error_code, error_message);
        }
        // A cancel or statement timeout that came while the answer was on
        // its way stops it too, as it stops a local ASK at its next token:
        // the loop looks only before each wait, and a fast peer's answer
        // can arrive within the one wait after that look.
        if (cancelled || (is_cancelled && is_cancelled())) throw Cancelled("ASK was cancelled");
        if (!answer) lost("answered with no result table");
        return std::move(*answer);
      }
      switch (PQresultStatus(r.get())) {
        case PGRES_TUPLES_OK: {
          if (answer) lost("answered with more than one result table");
          PeerAnswer a;
          const int cols = PQnfields(r.get()), rows = PQntuples(r.get());
          for (int i = 0; i < cols; ++i) a.columns.push_back(PQfname(r.get(), i));
          for (int row = 0; row < rows; ++row) {
            std::vector<std::string> cells;
            for (int i = 0; i < cols; ++i) {
              bytes += static_cast<size_t>(PQgetlength(r.get(), row, i));
              if (bytes > kMaxAnswerBytes) lost("answered more than " + std::to_string(kMaxAnswerBytes) + " bytes");
              cells.emplace_back(PQgetvalue(r.get(), row, i), static_cast<size_t>(PQgetlength(r.get(), row, i)));
            }
            a.rows.push_back(std::move(cells));
          }
          answer = std::move(a);
          break;
        }
        case PGRES_FATAL_ERROR: {
          const char* code = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
          const char* msg = PQresultErrorField(r.get(), PG_DIAG_MESSAGE_PRIMARY);
          error_code = code ? code : "XX000";
          error_message = msg ? first_line(msg) : first_line(PQresultErrorMessage(r.get()));
          if (PQstatus(conn_) == CONNECTION_BAD) {
            broken_ = true;
            if (error_code == "XX000" || error_code.empty()) error_code = "08006";
          }
          break;
        }
        default:
          lost(std::string("answered an unexpected result (") + PQresStatus(PQresultStatus(r.get())) + ")");
      }
    }
  }
}

}  // namespace cdb
