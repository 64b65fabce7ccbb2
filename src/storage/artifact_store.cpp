#include "storage/artifact_store.h"

#include <nlohmann/json.hpp>

#include <set>

#include "common/error.h"
#include "storage/blob_store.h"

namespace cdb {
namespace {

constexpr std::string_view kMetaName = "@meta";

}  // namespace

// The rules of Store::put_artifacts, applied to both homes so that code
// tested against one cannot write what the other refuses.
void check_artifact_set(const std::string& scope, const std::vector<NamedTensor>& tensors, const std::string& meta_json) {
  const std::string in_scope = " in artifact scope '" + scope + "'";
  if (scope.empty() || scope.size() > 300) throw InvalidArgument("artifact scope must be 1..300 bytes");
  std::set<std::string_view> names;
  for (const auto& t : tensors) {
    if (t.name.empty() || t.name.size() > 200) throw InvalidArgument("artifact names must be 1..200 bytes" + in_scope);
    if (t.name.front() == '@') throw InvalidArgument("artifact name '" + t.name + "' starts with the reserved '@'" + in_scope);
    // BlobArtifacts keys are "<scope>/<name>": a '/' would make one scope's
    // tensor look like another (nested) scope's.
    if (t.name.find('/') != std::string::npos) throw InvalidArgument("artifact name '" + t.name + "' contains '/'" + in_scope);
    if (!names.insert(t.name).second) throw InvalidArgument("duplicate artifact name '" + t.name + "'" + in_scope);
  }
  if (!nlohmann::json::accept(meta_json))
    throw InvalidArgument("artifact meta" + in_scope + " is not valid JSON: " + meta_json);
}

const DecodedTensor& ArtifactSet::at(std::string_view name, std::string_view what) const {
  auto it = tensors.find(name);
  if (it == tensors.end()) throw CorruptData(std::string(what) + " lacks its tensor '" + std::string(name) + "'");
  return it->second;
}

// --- StoreArtifacts ----------------------------------------------------------

void StoreArtifacts::put(const std::string& scope, const std::vector<NamedTensor>& tensors,
                         const std::string& meta_json) {
  check_artifact_set(scope, tensors, meta_json);
  store_.put_artifacts(scope, tensors, meta_json);
}

std::optional<ArtifactSet> StoreArtifacts::get(const std::string& scope) const {
  std::vector<ArtifactRow> rows = store_.list_artifacts(scope);
  if (rows.empty()) return std::nullopt;
  ArtifactSet set;
  set.meta_json = rows.front().meta;
  for (const auto& r : rows) set.tensors.emplace(r.name, store_.read_artifact(scope, r.name));
  return set;
}

bool StoreArtifacts::contains(const std::string& scope) const { return !store_.list_artifacts(scope).empty(); }

void StoreArtifacts::remove(const std::string& scope_prefix) { store_.remove_artifacts(scope_prefix); }

// --- BlobArtifacts -----------------------------------------------------------

void BlobArtifacts::put(const std::string& scope, const std::vector<NamedTensor>& tensors,
                        const std::string& meta_json) {
  check_artifact_set(scope, tensors, meta_json);
  const std::string prefix = scope + "/";
  std::vector<std::pair<std::string, std::string>> puts;
  for (const auto& t : tensors) puts.emplace_back(prefix + t.name, encode_tensor(t.tensor, codec_));
  // Keys of the previous set that the new one does not overwrite; read
  // before the write because write() may run its function more than once.
  std::vector<std::string> stale;
  for (auto& k : blobs_.keys(prefix))
    if (k.find('/', prefix.size()) == std::string::npos) stale.push_back(std::move(k));  // not a nested scope's
  blobs_.write([&](BlobStore::WriteTxn& w) {
    for (const auto& k : stale) w.erase(k);
    for (const auto& [k, v] : puts) w.put(k, v);
    w.put(prefix + std::string(kMetaName), meta_json);
  });
}

std::optional<ArtifactSet> BlobArtifacts::get(const std::string& scope) const {
  const std::string prefix = scope + "/";
  auto txn = blobs_.read();
  auto meta = txn.get(prefix + std::string(kMetaName));
  if (!meta) return std::nullopt;
  ArtifactSet set;
  set.meta_json = std::string(*meta);
  std::vector<std::string> names;
  txn.for_each(prefix, [&](std::string_view key, size_t) {
    std::string_view name = key.substr(prefix.size());
    if (name != kMetaName && name.find('/') == std::string_view::npos) names.emplace_back(name);
  });
  for (const auto& n : names) {
    const std::string key = prefix + n;
    set.tensors.emplace(n, decode_tensor(txn.at(key), "artifact '" + key + "'", codec_.threads));
  }
  return set;
}

bool BlobArtifacts::contains(const std::string& scope) const {
  return blobs_.read().get(scope + "/" + std::string(kMetaName)).has_value();
}

void BlobArtifacts::remove(const std::string& scope_prefix) {
  if (scope_prefix.empty()) throw InvalidArgument("BlobArtifacts::remove: the scope prefix is empty");
  // Every key of the scope and of the scopes below it starts "<scope>/".
  const std::vector<std::string> keys = blobs_.keys(scope_prefix + "/");
  if (keys.empty()) return;
  blobs_.write([&](BlobStore::WriteTxn& w) {
    for (const auto& k : keys) w.erase(k);
  });
}

}  // namespace cdb
