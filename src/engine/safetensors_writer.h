// Writes one .safetensors file without holding its tensors in memory.
//
// The tensors (name, dtype, shape) are declared up front, which fixes the
// header and every tensor's offset; data may then be written tensor by
// tensor, or in slabs along the first dimension, in any order. Nothing is
// visible at `path` until commit(): the file is built as a temporary beside
// it, fsynced and renamed into place. A writer destroyed without commit()
// removes its temporary.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace cdb {

struct SafetensorsSpec {
  std::string name;
  at::ScalarType dtype;
  std::vector<int64_t> shape;
};

class SafetensorsWriter {
 public:
  // metadata lands in "__metadata__"; {"format": "pt"} is what PyTorch-side
  // readers (transformers) expect. Throws InvalidArgument on duplicate or
  // reserved names, IoError when the temporary cannot be created.
  SafetensorsWriter(std::filesystem::path path, std::vector<SafetensorsSpec> tensors,
                    std::map<std::string, std::string> metadata = {{"format", "pt"}});
  ~SafetensorsWriter();
  SafetensorsWriter(const SafetensorsWriter&) = delete;
  SafetensorsWriter& operator=(const SafetensorsWriter&) = delete;

  // The whole tensor (converted to the declared dtype; shape must match).
  void write(const std::string& name, const at::Tensor& t);
  // A slab of rows: part.size(0) rows following those already appended to
  // `name`; the other dimensions must match the declared shape.
  void append(const std::string& name, const at::Tensor& part);
  // Checks every tensor is complete, then fsync + rename + fsync(dir).
  void commit();

  const std::filesystem::path& path() const { return path_; }

 private:
  struct Slot {
    SafetensorsSpec spec;
    uint64_t offset = 0;  // absolute file offset
    uint64_t bytes = 0;
    uint64_t written = 0;
  };
  Slot& slot(const std::string& name);
  void pwrite_all(const void* data, uint64_t n, uint64_t offset);

  std::filesystem::path path_;
  std::filesystem::path tmp_;
  int fd_ = -1;
  bool committed_ = false;
  std::vector<Slot> slots_;
  std::map<std::string, size_t> index_;
};

// Convenience: declares and writes `tensors` in one go, committed.
void save_safetensors(const std::filesystem::path& path,
                      const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      std::map<std::string, std::string> metadata = {{"format", "pt"}});

}  // namespace cdb
