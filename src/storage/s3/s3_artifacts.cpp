#include "storage/s3/s3_artifacts.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace cdb {

namespace {

constexpr std::string_view kScratchMagic = "CDBSCR1\n";
constexpr std::string_view kScratchSetName = "@set";

S3Options scratch_client_options(S3Options o, const S3Location& loc) {
  o.bucket = loc.bucket;
  return o;
}

}  // namespace

S3Artifacts::S3Artifacts(const S3Location& location, S3Options options, CodecOptions codec)
    : base_(location.key("scratch/")), client_(scratch_client_options(std::move(options), location)), codec_(codec) {}

std::string S3Artifacts::set_prefix(const std::string& scope) const {
  return base_ + scope + "/" + std::string(kScratchSetName);
}

std::vector<std::string> S3Artifacts::set_keys(const std::string& scope) const {
  const std::string prefix = set_prefix(scope);
  std::vector<std::string> keys;
  for (const auto& o : client_.list(prefix)) {
    const std::string_view rest = std::string_view(o.key).substr(prefix.size());
    // "@set" (an earlier build's one object) or "@set-<stamp>"; "@set..."
    // of a scope below this one has a '/' after it.
    if (rest.find('/') == std::string_view::npos && (rest.empty() || rest.front() == '-')) keys.push_back(o.key);
  }
  std::sort(keys.begin(), keys.end());  // the stamps are fixed-width: oldest first
  return keys;
}

void S3Artifacts::put(const std::string& scope, const std::vector<NamedTensor>& tensors,
                      const std::string& meta_json) {
  check_artifact_set(scope, tensors, meta_json);
  nlohmann::json header;
  header["meta"] = meta_json;
  header["tensors"] = nlohmann::json::array();
  std::vector<std::string> encoded;
  encoded.reserve(tensors.size());
  for (const auto& t : tensors) {
    encoded.push_back(encode_tensor(t.tensor, codec_));
    header["tensors"].push_back({{"name", t.name}, {"bytes", encoded.back().size()}});
  }
  const std::string h = header.dump();
  std::string body(kScratchMagic);
  const uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) body.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  body += h;
  for (const auto& e : encoded) body += e;
  const std::vector<std::string> older = set_keys(scope);
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char stamp[40];
  std::snprintf(stamp, sizeof stamp, "-%013lld-%08x",
                static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count()),
                static_cast<unsigned>(rng()));
  std::string key = set_prefix(scope) + stamp;
  // A clock that went back must not make the new set look older than the
  // one it replaces.
  if (!older.empty() && key <= older.back()) key = older.back() + stamp;
  client_.put(key, body);
  for (const auto& k : older) client_.remove(k);
}

std::optional<ArtifactSet> S3Artifacts::get(const std::string& scope) const {
  std::optional<CorruptData> newest_damage;
  // A second look, once, when every object was damaged: on an endpoint that
  // writes in place, the newest may still have been arriving while the
  // one before it was already deleted.
  for (int look = 0; look < 2; ++look) {
    if (look) std::this_thread::sleep_for(std::chrono::milliseconds(250));
    const std::vector<std::string> keys = set_keys(scope);
    newest_damage.reset();
    for (auto it = keys.rbegin(); it != keys.rend(); ++it) {
      std::string body;
      try {
        body = client_.get(*it);
      } catch (const NotFound&) {
        continue;  // deleted by a newer put since the listing
      }
      try {
        return parse(*it, body);
      } catch (const CorruptData& e) {
        // Torn by a writer that died mid-PUT: the set before it is the last whole one.
        if (!newest_damage) newest_damage = e;
      }
    }
    if (!newest_damage) return std::nullopt;
  }
  throw *newest_damage;
}

ArtifactSet S3Artifacts::parse(const std::string& key, const std::string& body) const {
  const std::string what = "scratch object " + client_.describe(key);
  if (body.size() < kScratchMagic.size() + 8 || std::string_view(body).substr(0, kScratchMagic.size()) != kScratchMagic)
    throw CorruptData(what + " does not start with the scratch magic; delete it and the job synthesizes and "
                             "trains again from the start");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(body[kScratchMagic.size() + i])) << (8 * i);
  size_t at = kScratchMagic.size() + 8;
  if (n > body.size() - at) throw CorruptData(what + " is truncated (its header runs past its end)");
  const auto header = nlohmann::json::parse(body.substr(at, n), nullptr, false);
  if (!header.is_object() || !header.contains("meta") || !header["meta"].is_string() || !header.contains("tensors") ||
      !header["tensors"].is_array())
    throw CorruptData(what + " has a damaged header");
  at += n;
  ArtifactSet set;
  set.meta_json = header["meta"].get<std::string>();
  for (const auto& t : header["tensors"]) {
    if (!t.is_object() || !t.contains("name") || !t["name"].is_string() || !t.contains("bytes") ||
        !t["bytes"].is_number_unsigned())
      throw CorruptData(what + " has a damaged tensor entry in its header");
    const std::string name = t["name"].get<std::string>();
    const uint64_t bytes = t["bytes"].get<uint64_t>();
    if (bytes > body.size() - at) throw CorruptData(what + " is truncated in tensor '" + name + "'");
    set.tensors.emplace(name, decode_tensor(std::string_view(body).substr(at, bytes), what + " tensor '" + name + "'",
                                            codec_.threads));
    at += bytes;
  }
  if (at != body.size()) throw CorruptData(what + " has " + std::to_string(body.size() - at) + " bytes past its tensors");
  return set;
}

bool S3Artifacts::contains(const std::string& scope) const { return !set_keys(scope).empty(); }

void S3Artifacts::remove(const std::string& scope_prefix) {
  if (scope_prefix.empty()) throw InvalidArgument("S3Artifacts::remove: the scope prefix is empty");
  for (const auto& o : client_.list(base_ + scope_prefix + "/")) client_.remove(o.key);
}

}  // namespace cdb
