#include "cluster/ask_router.h"

#include <cstdio>

#include "cluster/node_directory.h"
#include "cluster/route_choice.h"
#include "cluster/route_counters.h"
#include "common/error.h"

namespace cdb {

namespace {

using Steady = std::chrono::steady_clock;

std::string seconds(std::chrono::milliseconds ms) { return std::to_string(ms.count() / 1000.0); }

}  // namespace

void AskRouterOptions::validate() const {
  if (self.empty()) throw InvalidArgument("routing needs this node's name (--node-name)");
  if (password.empty()) throw InvalidArgument("routing needs the cluster secret (--cluster-secret-file)");
  if (connect_timeout < std::chrono::milliseconds(10) || connect_timeout > std::chrono::minutes(1))
    throw InvalidArgument("--route-timeout must be from 0.01 to 60 seconds, got " + seconds(connect_timeout));
  if (relay_timeout < std::chrono::milliseconds(100) || relay_timeout > std::chrono::hours(24))
    throw InvalidArgument("--route-relay-timeout must be from 0.1 to 86400 seconds, got " + seconds(relay_timeout));
  if (!(load_factor >= 1 && load_factor <= 100))
    throw InvalidArgument("--route-load-factor must be from 1 to 100 (1.25: a node takes up to 25% more than the "
                          "mean), got " + std::to_string(load_factor));
  if (heartbeat_interval <= std::chrono::milliseconds(0))
    throw InvalidArgument("routing needs a positive --heartbeat-interval");
}

AskRouter::AskRouter(const NodeDirectory& directory, RouteCounters& counters, AskRouterOptions options)
    : directory_(directory), counters_(counters), options_(std::move(options)) {
  options_.validate();
}

AskRouter::~AskRouter() = default;

std::optional<AskRouter::Peer> AskRouter::choose(const std::vector<std::string>& corpora) {
  std::map<std::string, int64_t> load;
  std::map<std::string, Live> live;
  {
    std::lock_guard lock(mu_);
    const auto now = Steady::now();
    if (now - read_at_ >= kDirectoryRefresh) {
      std::vector<NodeReport> nodes;
      try {
        nodes = directory_.nodes();
      } catch (const Error& e) {
        // The catalog is away: answer here rather than fail the question.
        std::fprintf(stderr, "cartridgedb: routing answers locally, the node registry cannot be read: %s\n", e.what());
        return std::nullopt;
      }
      const auto wall = std::chrono::system_clock::now();
      live_.clear();
      for (const NodeReport& n : nodes)
        if (n.name != options_.self && wall - n.heartbeat <= 3 * options_.heartbeat_interval)
          live_[n.name] = Live{n.address, n.asks_in_flight};
      read_at_ = now;
    }
    if (live_.empty()) return std::nullopt;
    live = live_;
    for (const auto& [name, peer] : live_) {
      auto r = relaying_.find(name);
      // The peer's own count at its heartbeat already includes some of
      // this node's relays; the larger of the two is the honest lower bound.
      load[name] = std::max(peer.load, r == relaying_.end() ? 0 : r->second);
    }
  }
  load[options_.self] = counters_.in_flight();
  const std::string chosen = choose_node(route_key(corpora), load, options_.load_factor);
  if (chosen == options_.self) return std::nullopt;
  return Peer{chosen, live.at(chosen).address};
}

std::unique_ptr<PeerConnection> AskRouter::take(const Peer& peer, const std::string& user, bool& pooled) {
  {
    std::lock_guard lock(mu_);
    auto it = idle_.find({peer.name + "@" + peer.address, user});
    if (it != idle_.end() && !it->second.empty()) {
      auto c = std::move(it->second.back());
      it->second.pop_back();
      if (it->second.empty()) idle_.erase(it);
      --idle_count_;
      pooled = true;
      return c;
    }
  }
  pooled = false;
  return PeerConnection::connect(peer.name, peer.address, options_.password, user,
                                 Steady::now() + options_.connect_timeout, cancellers_);
}

void AskRouter::give_back(const Peer& peer, const std::string& user, std::unique_ptr<PeerConnection> c) {
  if (!c || !c->reusable()) return;
  std::lock_guard lock(mu_);
  auto& list = idle_[{peer.name + "@" + peer.address, user}];
  if (list.size() >= options_.idle_per_peer || idle_count_ >= kMaxIdleConnections) return;  // closed
  list.push_back(std::move(c));
  ++idle_count_;
}

std::optional<PeerAnswer> AskRouter::relay(const Peer& peer, const std::string& user, const std::string& statement,
                                           const std::function<bool()>& is_cancelled) {
  {
    std::lock_guard lock(mu_);
    ++relaying_[peer.name];
  }
  struct Done {
    AskRouter& r;
    const std::string& name;
    ~Done() {
      std::lock_guard lock(r.mu_);
      if (--r.relaying_[name] <= 0) r.relaying_.erase(name);
    }
  } done{*this, peer.name};
  const auto deadline = Steady::now() + options_.relay_timeout;
  // A pooled connection may have died with its peer's restart: one more try
  // on a fresh connection before giving up on the peer.
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool pooled = false;
    std::unique_ptr<PeerConnection> c;
    try {
      c = take(peer, user, pooled);
      PeerAnswer a = c->relay(statement, deadline, is_cancelled);
      give_back(peer, user, std::move(c));
      counters_.forwarded();
      return a;
    } catch (const PeerUnavailable& e) {
      if (pooled && attempt == 0 && Steady::now() < deadline) continue;
      counters_.fallback();
      std::fprintf(stderr, "cartridgedb: routing answers locally: %s\n", e.what());
      std::lock_guard lock(mu_);
      read_at_ = {};  // read the registry again: the peer may be gone
      return std::nullopt;
    } catch (const Error&) {
      // The peer's answer was an error: the question's own, passed on. The
      // connection goes back if it is still clean (a statement error is).
      give_back(peer, user, std::move(c));
      counters_.forwarded();
      throw;
    }
  }
  return std::nullopt;
}

}  // namespace cdb
