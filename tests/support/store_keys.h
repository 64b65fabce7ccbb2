// The two sides of a Store's consistency, for tests that check "no orphan
// blob, no missing blob": every key in its LMDB, and every key its catalog
// references. Equal sets mean a consistent store.
#pragma once

#include <set>
#include <string>

#include "storage/store.h"

namespace cdb::test {

inline std::set<std::string> all_blob_keys(Store& s) {
  auto v = s.blobs().keys();
  return {v.begin(), v.end()};
}

inline std::set<std::string> referenced_keys(Store& s) {
  std::set<std::string> out;
  for (const auto& r : s.catalog().blob_references()) out.insert(r.blob_key);
  return out;
}

}  // namespace cdb::test
