// The JSON meta that a stored dataset or checkpoint carries with its
// tensors, parsed and checked for its format version.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "common/error.h"
#include "storage/artifact_store.h"

namespace cdb {

// CorruptData naming `what` when the meta is not JSON; Unsupported when its
// "version" is not `version` (written by another release of the format).
inline nlohmann::json stored_meta(const ArtifactSet& set, const std::string& what, int version) {
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(set.meta_json);
  } catch (const nlohmann::json::exception& e) {
    throw CorruptData(what + ": its meta is not JSON: " + e.what());
  }
  if (!meta.is_object()) throw CorruptData(what + ": its meta is not a JSON object");
  const int found = meta.value("version", 0);
  if (found != version)
    throw Unsupported(what + " has format version " + std::to_string(found) + "; this build reads version " +
                      std::to_string(version));
  return meta;
}

}  // namespace cdb
