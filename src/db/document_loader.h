// Reads the files of LOAD FILE / LOAD DIRECTORY and checks them all before
// anything is stored: every file must be valid UTF-8, non-empty and within
// the size limits, and its document name must be free in the corpus (or
// hold the same text). One error lists every bad file with its reason, so a
// user fixes them in one go; with any bad file nothing is loaded.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace cdb {

class Store;

struct DocumentLimits {
  int64_t max_file_bytes = int64_t{16} << 20;     // one document
  int64_t max_total_bytes = int64_t{256} << 20;   // one statement
  int64_t max_files = 10000;
};

struct PendingDocument {
  std::string name;  // file name (LOAD FILE) or path relative to the directory
  std::string text;
  std::filesystem::path source;
};

class DocumentLoader {
 public:
  // `admit`: whether a file found while listing a directory may be read
  // (ServerFiles::admits: a symlink out of the load root may not); none:
  // every file. With any file refused, nothing is read (PermissionDenied).
  using Admit = std::function<bool(const std::filesystem::path&)>;
  explicit DocumentLoader(DocumentLimits limits = {}, Admit admit = {}) : limits_(limits), admit_(std::move(admit)) {}

  // One file; its document name is the file name.
  std::vector<PendingDocument> read_file(const std::filesystem::path& path) const;
  // Every regular file under `dir` (recursively, hidden entries skipped,
  // sorted by relative path) whose file name matches the glob `pattern`
  // (fnmatch; none: every file). NotFound when nothing matches.
  std::vector<PendingDocument> read_directory(const std::filesystem::path& dir,
                                              const std::optional<std::string>& pattern) const;

  // InvalidArgument when a text is not valid UTF-8 (with the byte offset),
  // empty or too large; `what` names it in the message.
  void check_text(const std::string& text, const std::string& what) const;

  // Stores the documents in `corpus`, all or nothing: names taken by other
  // text are refused before anything is written, and if a write fails the
  // documents added so far are removed again. Returns how many were new.
  static int64_t store_all(Store& store, const std::string& corpus, const std::vector<PendingDocument>& docs);

 private:
  DocumentLimits limits_;
  Admit admit_;
};

}  // namespace cdb
