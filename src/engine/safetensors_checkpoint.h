// The weights of a Hugging Face model directory: either one
// model.safetensors or shards listed by model.safetensors.index.json
// ({"weight_map": {tensor: shard file}}). Lookups name the shard and tensor.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/safetensors_file.h"

namespace cdb {

class SafetensorsCheckpoint {
 public:
  // Throws NotFound when the directory has neither file; CorruptData when
  // the index is malformed, names a shard that is missing, or lists a tensor
  // its shard does not hold; and whatever SafetensorsFile throws per shard.
  explicit SafetensorsCheckpoint(const std::filesystem::path& dir);

  const std::filesystem::path& dir() const { return dir_; }
  bool contains(const std::string& name) const { return where_.count(name) != 0; }
  // The shard holding `name`; throws NotFound naming the directory and tensor.
  const SafetensorsFile& file_of(const std::string& name) const;
  const SafetensorsEntry& entry(const std::string& name) const { return file_of(name).entry(name); }
  at::Tensor tensor(const std::string& name) const { return file_of(name).tensor(name); }
  std::vector<std::string> names() const;  // sorted
  // Keeps every shard's mapping alive.
  std::shared_ptr<const void> backing() const;

 private:
  std::filesystem::path dir_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const SafetensorsFile*> where_;
};

}  // namespace cdb
