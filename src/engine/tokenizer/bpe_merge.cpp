#include "engine/tokenizer/bpe_merge.h"

#include <queue>

namespace cdb {

namespace {

struct Pair {
  double priority;
  size_t left;  // index of the left symbol in the original sequence
  int32_t left_id, right_id, merged_id;
  // The heap pops the highest priority; among equals, the leftmost pair.
  bool operator<(const Pair& o) const {
    if (priority != o.priority) return priority < o.priority;
    return left > o.left;
  }
};

}  // namespace

void bpe_merge(std::vector<int32_t>& ids,
               const std::function<std::optional<BpeMergeCandidate>(int32_t, int32_t)>& lookup) {
  const size_t n = ids.size();
  if (n < 2) return;
  // A doubly linked list over the symbols; merged-away symbols are unlinked.
  constexpr size_t kNone = static_cast<size_t>(-1);
  std::vector<size_t> prev(n), next(n);
  std::vector<bool> alive(n, true);
  for (size_t i = 0; i < n; ++i) {
    prev[i] = i == 0 ? kNone : i - 1;
    next[i] = i + 1 == n ? kNone : i + 1;
  }
  std::priority_queue<Pair> heap;
  auto consider = [&](size_t l) {
    if (l == kNone || next[l] == kNone) return;
    size_t r = next[l];
    if (auto c = lookup(ids[l], ids[r])) heap.push({c->priority, l, ids[l], ids[r], c->merged_id});
  };
  for (size_t i = 0; i + 1 < n; ++i) consider(i);
  while (!heap.empty()) {
    Pair p = heap.top();
    heap.pop();
    size_t l = p.left;
    // Stale entry: one side was merged into something else since it was pushed.
    if (!alive[l] || ids[l] != p.left_id || next[l] == kNone || ids[next[l]] != p.right_id) continue;
    size_t r = next[l];
    ids[l] = p.merged_id;
    alive[r] = false;
    next[l] = next[r];
    if (next[r] != kNone) prev[next[r]] = l;
    consider(prev[l]);
    consider(l);
  }
  size_t out = 0;
  for (size_t i = 0; i < n; ++i) {
    if (alive[i]) ids[out++] = ids[i];
  }
  ids.resize(out);
}

}  // namespace cdb
