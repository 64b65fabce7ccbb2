#include "storage/blob_record.h"

#include <nlohmann/json.hpp>

namespace cdb {

// Every kind but artifact belongs to a corpus; the rest is per kind.
std::string encode_record(const BlobRecord& r) {
  nlohmann::json j{{"v", r.version}, {"kind", r.kind}};
  if (r.kind != "artifact") j["corpus"] = r.corpus;
  if (r.kind == "cartridge" || r.kind == "tokens") j["corpus_version"] = r.corpus_version;
  if (r.kind == "document") {
    j["name"] = r.name;
    j["hash"] = r.hash;
  } else if (r.kind == "cartridge") {
    j["model"] = r.model;
    j["tokens"] = r.tokens;
    j["dtype"] = r.dtype;
    j["metrics"] = nlohmann::json::parse(r.metrics.empty() ? "{}" : r.metrics);
    j["tensor"] = r.tensor;
    j["layout"] = r.layout;
  } else if (r.kind == "tokens") {
    j["tokenizer"] = r.model;
  } else if (r.kind == "artifact") {
    j["scope"] = r.scope;
    j["name"] = r.name;
    j["meta"] = nlohmann::json::parse(r.metrics.empty() ? "{}" : r.metrics);
  }
  return j.dump();
}

std::optional<BlobRecord> decode_record(std::string_view bytes) {
  try {
    const auto j = nlohmann::json::parse(bytes);
    BlobRecord r;
    r.version = j.at("v").get<int>();
    r.kind = j.at("kind").get<std::string>();
    if (r.kind != "document" && r.kind != "cartridge" && r.kind != "tokens" && r.kind != "artifact")
      return std::nullopt;
    if (r.kind != "artifact") r.corpus = j.at("corpus").get<std::string>();
    if (r.kind == "cartridge" || r.kind == "tokens") r.corpus_version = j.at("corpus_version").get<int64_t>();
    if (r.kind == "document") {
      r.name = j.at("name").get<std::string>();
      r.hash = j.at("hash").get<std::string>();
    } else if (r.kind == "cartridge") {
      r.model = j.at("model").get<std::string>();
      r.tokens = j.at("tokens").get<int64_t>();
      r.dtype = j.at("dtype").get<std::string>();
      r.metrics = j.at("metrics").dump();
      r.tensor = j.at("tensor").get<std::string>();
      r.layout = j.at("layout").get<std::vector<std::string>>();
    } else if (r.kind == "tokens") {
      r.model = j.at("tokenizer").get<std::string>();
    } else {
      r.scope = j.at("scope").get<std::string>();
      r.name = j.at("name").get<std::string>();
      r.metrics = j.at("meta").dump();
    }
    return r;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace cdb
