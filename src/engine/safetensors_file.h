// One .safetensors file, memory-mapped and validated when opened.
//
// Format: an 8-byte little-endian header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {..}},
// then the data region; offsets are relative to the data region's start.
// Tensors come back as views into the mapping (no copy) when their dtype is
// the one asked for and their bytes are aligned; each view keeps the mapping
// alive on its own, so a view may outlive the SafetensorsFile.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/mmap_file.h"

namespace cdb {

struct SafetensorsEntry {
  std::string name;
  at::ScalarType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets into the data region
  uint64_t end = 0;
};

// "F32" -> at::kFloat, ...; nullopt for names this build cannot hold.
std::optional<at::ScalarType> safetensors_dtype(std::string_view name);
// at::kFloat -> "F32", ...; throws Unsupported for types safetensors lacks.
const char* safetensors_dtype_name(at::ScalarType t);

class SafetensorsFile {
 public:
  // Throws NotFound (missing file), IoError, CorruptData (bad header length,
  // JSON, dtype, shape vs offsets, out-of-range or overlapping data; the
  // message names the file and the tensor), Unsupported (a dtype this build
  // does not read, e.g. F8_E4M3).
  explicit SafetensorsFile(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return mapping_->path(); }
  bool contains(const std::string& name) const { return entries_.count(name) != 0; }
  // Throws NotFound naming the file and tensor.
  const SafetensorsEntry& entry(const std::string& name) const;
  std::vector<std::string> names() const;  // sorted
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // The tensor as stored: a view into the mapping where alignment allows.
  at::Tensor tensor(const std::string& name) const;
  // Converted to `dtype` (a view when it already is that dtype).
  at::Tensor tensor(const std::string& name, at::ScalarType dtype) const;

  // Keeps the mapping alive (for ModelWeights::backing).
  std::shared_ptr<const MmapFile> mapping() const { return mapping_; }

 private:
  std::shared_ptr<MmapFile> mapping_;
  uint64_t data_start_ = 0;  // 8 + header length
  std::map<std::string, SafetensorsEntry> entries_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace cdb
