// A whole file mapped into memory for reading. The mapping is private
// (copy-on-write): tensors viewing it may be written by careless code without
// crashing and without ever changing the file on disk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace cdb {

class MmapFile {
 public:
  // Throws NotFound when the file does not exist, IoError when it cannot be
  // opened or mapped. An empty file maps to data() == nullptr, size() == 0.
  explicit MmapFile(const std::filesystem::path& path);
  ~MmapFile();
  MmapFile(const MmapFile&) = delete;
  MmapFile& operator=(const MmapFile&) = delete;
  MmapFile(MmapFile&& other) noexcept;
  MmapFile& operator=(MmapFile&& other) noexcept;

  const uint8_t* data() const { return data_; }
  uint8_t* mutable_data() { return data_; }  // private copy-on-write pages
  size_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  void release() noexcept;

  std::filesystem::path path_;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace cdb
