// The catalog fields of a test Cartridge (Store::put_cartridge fills in the
// tensors and bytes).
#pragma once

#include <cstdint>
#include <string>

#include "storage/catalog.h"

namespace cdb::test {

inline CartridgeRow cartridge_meta(int64_t corpus_id, int64_t corpus_version, const std::string& model,
                                   const std::string& dtype, int64_t tokens) {
  CartridgeRow m;
  m.corpus_id = corpus_id;
  m.corpus_version = corpus_version;
  m.model_fingerprint = model;
  m.tokens = tokens;
  m.dtype = dtype;
  return m;
}

}  // namespace cdb::test
