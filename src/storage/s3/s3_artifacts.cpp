#include "storage/s3/s3_artifacts.h"

#include <cstring>

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

std::string S3Artifacts::object_key(const std::string& scope) const {
  return base_ + scope + "/" + std::string(kScratchSetName);
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
  client_.put(object_key(scope), body);
}

std::optional<ArtifactSet> S3Artifacts::get(const std::string& scope) const {
  const std::string key = object_key(scope);
  std::string body;
  try {
    body = client_.get(key);
  } catch (const NotFound&) {
    return std::nullopt;
  }
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

bool S3Artifacts::contains(const std::string& scope) const { return client_.head(object_key(scope)).has_value(); }

void S3Artifacts::remove(const std::string& scope_prefix) {
  if (scope_prefix.empty()) throw InvalidArgument("S3Artifacts::remove: the scope prefix is empty");
  for (const auto& o : client_.list(base_ + scope_prefix + "/")) client_.remove(o.key);
}

}  // namespace cdb
