// A fresh directory for one test, removed with its contents. Shared by every
// test binary (tests/ is on their include path).
#pragma once

#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>
#include <string_view>

namespace cdb::test {

class TempDir {
 public:
  explicit TempDir(std::string_view tag = "test",
                   const std::filesystem::path& base = std::filesystem::temp_directory_path()) {
    std::random_device rd;
    path_ = base / ("cdb-" + std::string(tag) + "-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace cdb::test
