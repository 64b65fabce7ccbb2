#include "engine/model_locator.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include "common/error.h"

namespace cdb {

namespace fs = std::filesystem;

namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

bool is_name(std::string_view s) {
  if (s.empty() || s.size() > 96 || s == "." || s == "..") return false;
  for (char c : s)
    if (!is_name_char(c)) return false;
  return true;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// refs/main holds a commit hash written by huggingface_hub. It names a
// folder, so it is checked like a name: a cache is a directory a user may
// have copied from anywhere, and "../../" there must not lead out of it.
std::string read_ref(const fs::path& ref_file) {
  std::ifstream in(ref_file);
  std::string rev;
  if (!in || !std::getline(in, rev)) return "";
  while (!rev.empty() && (rev.back() == '\r' || rev.back() == ' ' || rev.back() == '\t')) rev.pop_back();
  return is_name(rev) ? rev : "";
}

// The snapshot folder of one cached repository, or empty.
fs::path snapshot_in(const fs::path& repo) {
  std::error_code ec;
  if (!fs::is_directory(repo, ec)) return {};
  if (const fs::path ref = repo / "refs" / "main"; fs::exists(ref, ec)) {
    const std::string rev = read_ref(ref);
    const fs::path snap = repo / "snapshots" / rev;
    return !rev.empty() && fs::is_directory(snap, ec) ? snap : fs::path{};
  }
  fs::path only;
  int n = 0;
  for (fs::directory_iterator it(repo / "snapshots", ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec) && is_name(it->path().filename().string())) {
      only = it->path();
      ++n;
    }
  }
  return n == 1 ? only : fs::path{};
}

}  // namespace

bool is_hf_repo_id(std::string_view spec) {
  const size_t slash = spec.find('/');
  if (slash == std::string_view::npos || spec.find('/', slash + 1) != std::string_view::npos) return false;
  return is_name(spec.substr(0, slash)) && is_name(spec.substr(slash + 1));
}

std::vector<fs::path> hf_hub_caches() {
  std::vector<fs::path> out;
  if (const std::string v = env("HF_HUB_CACHE"); !v.empty()) out.emplace_back(v);
  if (const std::string v = env("HF_HOME"); !v.empty()) out.push_back(fs::path(v) / "hub");
  if (const std::string v = env("HOME"); !v.empty()) out.push_back(fs::path(v) / ".cache" / "huggingface" / "hub");
  return out;
}

fs::path locate_model(std::string_view spec) {
  const fs::path as_path{std::string(spec)};
  std::error_code ec;
  if (fs::exists(as_path, ec) || !is_hf_repo_id(spec)) return as_path;

  const size_t slash = spec.find('/');
  const std::string folder =
      "models--" + std::string(spec.substr(0, slash)) + "--" + std::string(spec.substr(slash + 1));
  std::string looked;
  for (const fs::path& cache : hf_hub_caches()) {
    const fs::path repo = cache / folder;
    if (fs::path snap = snapshot_in(repo); !snap.empty()) return snap;
    looked += "\n  " + repo.string();
  }
  if (looked.empty()) looked = "\n  (none: HF_HUB_CACHE, HF_HOME and HOME are all unset)";
  throw NotFound("model '" + std::string(spec) +
                 "' is neither a file or directory here nor in the Hugging Face cache; looked in:" + looked +
                 "\nTo place it there, run `huggingface-cli download " + std::string(spec) +
                 "` on a machine with network access and copy its " + folder +
                 " folder (with refs/ and snapshots/) into one of those caches, or set HF_HUB_CACHE to the "
                 "cache that holds it; or pass --model the path of a model directory or llama2.c .bin file");
}

}  // namespace cdb
