// RouteChoice: which live node answers a question, by bounded part
// affinity (docs/scale-out.md, "Routing"): the question is keyed by the
// corpus of its set whose own key is smallest (so that USING a, b goes
// where the questions on a alone go, and may find a's Cartridge resident),
// and goes to the first node in AffinityRing::ranked_for_key's order whose
// load stays within `load_factor` times the fleet's mean, counting the
// question itself. This is the routing bench/residency_sim measured best;
// residency_sim.cpp keys it the same way.
//
// Load is what the caller knows of each node: the ASKs it answers now, as
// of its last heartbeat (a peer) or now (this node). With every node idle
// the bound is 1 and the first choice always fits; one node always fits
// (the shares sum below nodes x bound), so choose() never fails for a
// non-empty fleet.
//
// Pure functions: no I/O, no state; safe from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cdb {

// The routing key of a question on `corpora`: the smallest
// AffinityRing::key_of({c}) among its corpora. InvalidArgument for no
// corpora or an empty name.
uint64_t route_key(const std::vector<std::string>& corpora);

// The node for `key` among the nodes of `load` (name -> ASKs in flight;
// negative counts as 0). InvalidArgument for no nodes or a load factor
// outside [1, 100].
std::string choose_node(uint64_t key, const std::map<std::string, int64_t>& load, double load_factor);

}  // namespace cdb
