// A temporary Store holding small random Cartridges, for residency tests.
#pragma once

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "engine/cartridge.h"
#include "engine/cartridge_store.h"
#include "storage/store.h"
#include "support/temp_dir.h"

namespace cdb::test {

// Integer-valued floats, so that sums are exact checksums.
inline Cartridge random_cartridge(int64_t p, int64_t kv = 2, int64_t layers = 2, int64_t hd = 8) {
  Cartridge c;
  for (int64_t l = 0; l < layers; ++l) {
    c.keys.push_back(at::randint(-1000, 1000, {kv, p, hd}, at::kFloat));
    c.values.push_back(at::randint(-1000, 1000, {kv, p, hd}, at::kFloat));
  }
  return c;
}

// Sum of every element of keys and values: the same for a composition as
// for the sum of its parts.
inline double checksum(const Cartridge& c) {
  double s = 0;
  for (const auto& k : c.keys) s += k.sum().item<double>();
  for (const auto& v : c.values) s += v.sum().item<double>();
  return s;
}

inline bool same(const Cartridge& a, const Cartridge& b) {
  if (a.layers() != b.layers()) return false;
  for (int64_t l = 0; l < a.layers(); ++l)
    if (!at::equal(a.keys[l], b.keys[l]) || !at::equal(a.values[l], b.values[l])) return false;
  return true;
}

class Residency : public ::testing::Test {
 protected:
  Residency() : store_(std::make_unique<Store>(tmp_.path() / "store")) { corpus_ = store_->create_corpus("docs").id; }

  // Saves a Cartridge of p tokens; returns its row. cartridges_[i] is the
  // tensors of rows_[i].
  CartridgeRow add(int64_t p, int64_t kv = 2) {
    cartridges_.push_back(random_cartridge(p, kv));
    CartridgeRow meta;
    meta.corpus_id = corpus_;
    meta.corpus_version = 0;
    meta.model_fingerprint = "test-model";
    rows_.push_back(save_cartridge(*store_, meta, cartridges_.back()));
    return rows_.back();
  }

  // Bytes of a Cartridge of p tokens as add() makes it (f32).
  static int64_t bytes_of(int64_t p, int64_t kv = 2) { return 2 * 2 * kv * p * 8 * 4; }

  TempDir tmp_;
  std::unique_ptr<Store> store_;
  int64_t corpus_ = 0;
  std::vector<Cartridge> cartridges_;
  std::vector<CartridgeRow> rows_;
};

}  // namespace cdb::test
