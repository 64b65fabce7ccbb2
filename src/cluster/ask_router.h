// AskRouter: sends an ASK to the serve node that should answer it, and
// relays the answer back (docs/scale-out.md, "Routing").
//
// Choice. Over the live nodes of the NodeDirectory (last heartbeat younger
// than three intervals) by bounded part affinity (route_choice.h), each
// peer's load being its ASKs in flight as of its last heartbeat plus the
// relays this node has open to it now, and this node's own load now. The
// directory is read at most every kDirectoryRefresh, not per question.
//
// Relay. Over a PeerConnection (node_login.h: the node principal acting
// for the asking user) taken from a small pool of idle connections per
// (peer, user). A peer that cannot be reached, refuses the login, is slow
// past the relay timeout or drops the connection yields no answer:
// relay() returns nullopt, counts a fallback and logs why, and the caller
// answers itself. A question never fails because a peer is gone; it fails
// only with the error the peer's own answer gave (its SQLSTATE kept), or
// with Cancelled when the caller cancels (the peer is sent a CancelRequest).
//
// Thread-safe: statements of all sessions route through one router.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cluster/peer_connection.h"

namespace cdb {

class NodeDirectory;
class RouteCounters;

struct AskRouterOptions {
  std::string self;      // this node's name in the directory
  std::string password;  // node_password(cluster secret)
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds relay_timeout{120000};
  std::chrono::milliseconds heartbeat_interval{2000};  // a node is live for three of them
  double load_factor = 1.25;
  size_t idle_per_peer = 4;  // idle pooled connections kept per (peer, user)

  // InvalidArgument naming the flag for a value out of range.
  void validate() const;
};

class AskRouter {
 public:
  static constexpr std::chrono::milliseconds kDirectoryRefresh{250};
  static constexpr size_t kMaxIdleConnections = 64;

  struct Peer {
    std::string name, address;
  };

  // The directory and the counters must outlive the router.
  AskRouter(const NodeDirectory& directory, RouteCounters& counters, AskRouterOptions options);
  ~AskRouter();
  AskRouter(const AskRouter&) = delete;
  AskRouter& operator=(const AskRouter&) = delete;

  // The peer that should answer a question on `corpora`; nullopt: this
  // node (it is the choice, or no live peer is known, or the directory
  // could not be read).
  std::optional<Peer> choose(const std::vector<std::string>& corpora);

  // Runs `statement` (an ASK) on `peer` for `user`; nullopt when the peer
  // could not answer (counted as a fallback). Errors: the peer's own
  // statement error, typed by its SQLSTATE; Cancelled.
  std::optional<PeerAnswer> relay(const Peer& peer, const std::string& user, const std::string& statement,
                                  const std::function<bool()>& is_cancelled);

  const AskRouterOptions& options() const { return options_; }

 private:
  struct Live {
    std::string address;
    int64_t load = 0;  // ASKs in flight at its last heartbeat
  };
  std::unique_ptr<PeerConnection> take(const Peer& peer, const std::string& user, bool& pooled);
  void give_back(const Peer& peer, const std::string& user, std::unique_ptr<PeerConnection> c);

  const NodeDirectory& directory_;
  RouteCounters& counters_;
  AskRouterOptions options_;
  std::mutex mu_;
  std::map<std::string, Live> live_;  // peers, by name
  std::chrono::steady_clock::time_point read_at_{};
  std::map<std::string, int64_t> relaying_;  // relays open now, by peer
  std::map<std::pair<std::string, std::string>, std::vector<std::unique_ptr<PeerConnection>>> idle_;
  size_t idle_count_ = 0;
  // CancelRequests in flight (PeerConnection::send_cancel's threads).
  std::shared_ptr<std::atomic<int>> cancellers_ = std::make_shared<std::atomic<int>>(0);
};

}  // namespace cdb
