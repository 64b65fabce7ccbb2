// The settings and pins tables of a data directory (sql/003_query_engine.sql):
// small key/value facts that outlive a process, such as the model the
// directory was created with, and the corpora whose Cartridge is pinned.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cdb {

class Catalog;

class DataDirSettings {
 public:
  explicit DataDirSettings(Catalog& catalog) : catalog_(catalog) {}

  std::optional<std::string> get(std::string_view key) const;
  void set(std::string_view key, std::string_view value);

  void pin(int64_t corpus_id);
  // Returns whether it was pinned.
  bool unpin(int64_t corpus_id);
  std::vector<int64_t> pinned() const;
  bool is_pinned(int64_t corpus_id) const;

 private:
  Catalog& catalog_;
};

}  // namespace cdb
