#include "engine/safetensors_checkpoint.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/error.h"

namespace cdb {

namespace fs = std::filesystem;

SafetensorsCheckpoint::SafetensorsCheckpoint(const fs::path& dir) : dir_(dir) {
  const fs::path index_path = dir / "model.safetensors.index.json";
  const fs::path single = dir / "model.safetensors";
  if (!fs::exists(index_path)) {
    if (!fs::exists(single))
      throw NotFound("model directory " + dir.string() +
                     " has neither model.safetensors nor model.safetensors.index.json");
    files_.push_back(std::make_unique<SafetensorsFile>(single));
    for (const std::string& n : files_.back()->names()) where_[n] = files_.back().get();
    return;
  }
  const std::string idx = index_path.string();
  std::ifstream in(index_path, std::ios::binary);
  if (!in) throw IoError("cannot read " + idx);
  nlohmann::json index;
  try {
    index = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw CorruptData("shard index " + idx + " is not valid JSON: " + e.what());
  }
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
    throw CorruptData("shard index " + idx + " has no \"weight_map\" object");
  std::map<std::string, const SafetensorsFile*> shard_by_name;
  for (const auto& [tensor, shard] : index["weight_map"].items()) {
    if (!shard.is_string()) throw CorruptData("shard index " + idx + ": tensor '" + tensor + "' maps to a non-string");
    const std::string shard_name = shard.get<std::string>();
    // Shards are plain file names beside the index; anything else could
    // reach outside the model directory.
    if (shard_name.empty() || shard_name.find('/') != std::string::npos || shard_name == "." || shard_name == "..")
      throw CorruptData("shard index " + idx + ": tensor '" + tensor + "' maps to invalid shard name '" + shard_name + "'");
    auto it = shard_by_name.find(shard_name);
    if (it == shard_by_name.end()) {
      const fs::path shard_path = dir / shard_name;
      if (!fs::exists(shard_path))
        throw CorruptData("shard index " + idx + ": tensor '" + tensor + "' is in shard " + shard_path.string() +
                          ", which does not exist");
      files_.push_back(std::make_unique<SafetensorsFile>(shard_path));
      it = shard_by_name.emplace(shard_name, files_.back().get()).first;
    }
    if (!it->second->contains(tensor))
      throw CorruptData("shard index " + idx + " places tensor '" + tensor + "' in " + it->second->path().string() +
                        ", which does not hold it");
    where_[tensor] = it->second;
  }
}

const SafetensorsFile& SafetensorsCheckpoint::file_of(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) throw NotFound("model directory " + dir_.string() + " has no tensor '" + name + "'");
  return *it->second;
}

std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> out;
  out.reserve(where_.size());
  for (const auto& [n, _] : where_) out.push_back(n);
  return out;
}

std::shared_ptr<const void> SafetensorsCheckpoint::backing() const {
  auto maps = std::make_shared<std::vector<std::shared_ptr<const MmapFile>>>();
  for (const auto& f : files_) maps->push_back(f->mapping());
  return maps;
}

}  // namespace cdb
