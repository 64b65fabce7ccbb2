// Runs tests/tokenizer/hf_reference.js (the transformers.js tokenizers from
// npm) so that the C++ tokenizer is checked against an independent
// implementation at test time.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include "support/npm_packages.h"
#include "support/temp_dir.h"

namespace cdb::test {

inline std::string run_command(const std::string& cmd) {
  std::unique_ptr<FILE, decltype(&pclose)> pipe(popen(cmd.c_str(), "r"), &pclose);
  if (!pipe) return {};
  std::string out;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe.get())) > 0) out.append(buf, n);
  return out;
}

// The reference's answer to `request` (see hf_reference.js); a null json
// after a test failure when node or the packages are missing.
inline nlohmann::json js_reference(const nlohmann::json& request) {
  std::string node = run_command("command -v node 2>/dev/null");
  while (!node.empty() && (node.back() == '\n' || node.back() == '\r')) node.pop_back();
  if (node.empty()) {
    ADD_FAILURE() << "node is not installed; run ./cartridgedb.sh test (its setup installs nodejs and the npm "
                     "test packages)";
    return nullptr;
  }
  if (!std::filesystem::exists(npm_dir() / "node_modules" / "@lenml" / "tokenizers")) {
    ADD_FAILURE() << "@lenml/tokenizers is not installed under " << npm_dir()
                  << "; run ./cartridgedb.sh test (its setup installs the npm test packages) or set CDB_NPM_DIR";
    return nullptr;
  }
  TempDir tmp("tok-req");
  const auto req_file = tmp.path() / "request.json";
  {
    std::ofstream(req_file) << request.dump();
  }
  std::string script = std::string(CDB_SOURCE_DIR) + "/tests/tokenizer/hf_reference.js";
  std::string out =
      run_command("'" + node + "' '" + script + "' '" + npm_dir().string() + "' '" + req_file.string() + "' 2>&1");
  try {
    return nlohmann::json::parse(out);
  } catch (const nlohmann::json::exception&) {
    ADD_FAILURE() << "the JavaScript reference failed: " << out.substr(0, 2000);
    return nullptr;
  }
}

}  // namespace cdb::test
