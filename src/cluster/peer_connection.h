// PeerConnection: one libpq connection from this serve node to a peer,
// logged in as the node principal acting for one user (node_login.h), over
// which ASKs are relayed (AskRouter). RAII over PGconn.
//
// Every wait is bounded: connect() by its deadline (TCP, TLS if the peer
// offers it, and the SCRAM exchange, polled without blocking), relay() by
// its own; a relay whose caller cancels, or that runs past its deadline,
// sends the peer a CancelRequest and waits at most kCancelGrace for the
// peer to stop. libpq 15's PQcancel blocks until the peer closes the cancel
// connection (forever, for a peer that is stopped), so it runs on a
// detached thread that owns only its PGcancel; at most kMaxCancellers run
// at once (counted in `cancellers`, shared by a router's connections), past
// which a cancel is skipped and the connection only closed. An answer is
// bounded too (kMaxAnswerBytes over all its cells).
//
// Errors: PeerUnavailable when the peer cannot be reached, refuses the
// login (a cluster secret that differs), drops the connection, runs past the
// deadline, is shutting down or full, or answers something that is not an
// ASK's row: the caller answers the question itself. Any other error the
// peer reports for the statement is rethrown as the cdb::Error its SQLSTATE
// stands for (42P01 NotFound, 42501 PermissionDenied, 57014 Cancelled, ...),
// so that the client sees what a local answer would have told it.
//
// Not thread-safe: one relay at a time (the router's pool hands a
// connection to one caller).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"

struct pg_conn;

namespace cdb {

class PeerUnavailable : public IoError {
 public:
  using IoError::IoError;
};

// What the peer answered: its columns and rows, as text.
struct PeerAnswer {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
};

class PeerConnection {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kMaxAnswerBytes = size_t{16} << 20;
  static constexpr std::chrono::milliseconds kCancelGrace{2000};
  static constexpr int kMaxCancellers = 16;

  // Connects to `address` (host:port, [v6]:port) as the node principal with
  // `password`, acting for `user`. PeerUnavailable on any failure, naming
  // the peer (also for an address that is not host:port).
  static std::unique_ptr<PeerConnection> connect(const std::string& peer, const std::string& address,
                                                 const std::string& password, const std::string& user,
                                                 Clock::time_point deadline,
                                                 std::shared_ptr<std::atomic<int>> cancellers);
  ~PeerConnection();
  PeerConnection(const PeerConnection&) = delete;
  PeerConnection& operator=(const PeerConnection&) = delete;

  // Runs one statement on the peer and returns its one result table.
  // `is_cancelled` is polled every 50 ms (may be empty).
  PeerAnswer relay(const std::string& statement, Clock::time_point deadline,
                   const std::function<bool()>& is_cancelled);
  // Still usable for another relay: connected, idle, no error seen.
  bool reusable() const;

 private:
  PeerConnection(pg_conn* conn, std::string peer, std::shared_ptr<std::atomic<int>> cancellers)
      : conn_(conn), peer_(std::move(peer)), cancellers_(std::move(cancellers)) {}
  void send_cancel();
  [[noreturn]] void lost(const std::string& what);

  pg_conn* conn_;
  std::string peer_;
  std::shared_ptr<std::atomic<int>> cancellers_;
  bool broken_ = false;
};

}  // namespace cdb
