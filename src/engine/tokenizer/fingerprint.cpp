#include "engine/tokenizer/fingerprint.h"

#include <xxhash.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "common/error.h"

namespace cdb {

std::string read_file_bytes(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw NotFound("tokenizer file not found: " + path.string());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot open " + path.string() + " for reading");
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) throw IoError("read error on " + path.string());
  return std::move(buf).str();
}

std::string tokenizer_fingerprint(const std::vector<std::string_view>& parts, std::string_view kind) {
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state(XXH3_createState(), &XXH3_freeState);
  if (!state) throw std::bad_alloc();
  XXH3_128bits_reset(state.get());
  for (std::string_view p : parts) XXH3_128bits_update(state.get(), p.data(), p.size());
  XXH3_128bits_update(state.get(), kind.data(), kind.size());
  XXH128_hash_t h = XXH3_128bits_digest(state.get());
  char hex[33];
  std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return hex;
}

}  // namespace cdb
