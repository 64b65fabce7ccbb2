#include "db/document_loader.h"

#include <fnmatch.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "common/byte_size.h"
#include "common/error.h"
#include "common/hash.h"
#include "engine/tokenizer/utf8.h"
#include "storage/store.h"

namespace cdb {

namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw IoError("cannot open " + p.string() + " for reading");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw IoError("error reading " + p.string());
  return ss.str();
}

}  // namespace

void DocumentLoader::check_text(const std::string& text, const std::string& what) const {
  if (text.empty()) throw InvalidArgument(what + " is empty");
  if (static_cast<int64_t>(text.size()) > limits_.max_file_bytes)
    throw InvalidArgument(what + " is " + format_bytes(static_cast<int64_t>(text.size())) + ", over the " +
                          format_bytes(limits_.max_file_bytes) + " limit for one document");
  size_t bad = utf8_invalid_offset(text);
  if (bad != std::string::npos)
    throw InvalidArgument(what + " is not valid UTF-8 (first bad byte at offset " + std::to_string(bad) +
                          "); convert it to UTF-8 first");
}

std::vector<PendingDocument> DocumentLoader::read_file(const fs::path& path) const {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw NotFound("file " + path.string() + " does not exist");
  if (!fs::is_regular_file(path, ec)) throw InvalidArgument(path.string() + " is not a regular file");
  auto size = static_cast<int64_t>(fs::file_size(path, ec));
  if (size > limits_.max_file_bytes)
    throw InvalidArgument("file " + path.string() + " is " + format_bytes(size) + ", over the " +
                          format_bytes(limits_.max_file_bytes) + " limit for one document");
  PendingDocument d{path.filename().string(), read_all(path), path};
  check_text(d.text, "file " + path.string());
  return {std::move(d)};
}

std::vector<PendingDocument> DocumentLoader::read_directory(const fs::path& dir,
                                                            const std::optional<std::string>& pattern) const {
  std::error_code ec;
  if (!fs::exists(dir, ec)) throw NotFound("directory " + dir.string() + " does not exist");
  if (!fs::is_directory(dir, ec)) throw InvalidArgument(dir.string() + " is not a directory; use LOAD FILE for a file");
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) throw IoError("cannot list " + dir.string() + ": " + ec.message());
    const std::string name = it->path().filename().string();
    if (!name.empty() && name[0] == '.') {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file()) continue;
    if (pattern && fnmatch(pattern->c_str(), name.c_str(), 0) != 0) continue;
    files.push_back(it->path());
  }
  if (ec) throw IoError("cannot list " + dir.string() + ": " + ec.message());
  if (files.empty())
    throw NotFound("no file in " + dir.string() + (pattern ? " matches '" + *pattern + "'" : " to load"));
  if (static_cast<int64_t>(files.size()) > limits_.max_files)
    throw InvalidArgument(dir.string() + " holds " + std::to_string(files.size()) + " matching files, over the limit of " +
                          std::to_string(limits_.max_files) + " per statement");
  std::sort(files.begin(), files.end());
  if (admit_) {
    std::string refused;
    for (const auto& f : files)
      if (!admit_(f)) refused += (refused.empty() ? "" : ", ") + f.lexically_relative(dir).generic_string();
    if (!refused.empty())
      throw PermissionDenied("permission denied: LOAD DIRECTORY: nothing was loaded; these files lead outside the "
                             "server's --load-root through symlinks: " + refused);
  }

  std::vector<PendingDocument> docs;
  std::vector<std::string> problems;
  int64_t total = 0;
  for (const auto& f : files) {
    PendingDocument d;
    d.source = f;
    d.name = fs::relative(f, dir).generic_string();
    try {
      auto size = static_cast<int64_t>(fs::file_size(f));
      if (size > limits_.max_file_bytes)
        throw InvalidArgument(format_bytes(size) + ", over the " + format_bytes(limits_.max_file_bytes) +
                              " limit for one document");
      d.text = read_all(f);
      check_text(d.text, "it");
      total += static_cast<int64_t>(d.text.size());
      docs.push_back(std::move(d));
    } catch (const Error& e) {
      problems.push_back(d.name + ": " + e.what());
    }
  }
  if (!problems.empty()) {
    std::string msg = "LOAD DIRECTORY " + dir.string() + ": nothing was loaded; " + std::to_string(problems.size()) +
                      " of " + std::to_string(files.size()) + " files cannot be documents:";
    for (const auto& p : problems) msg += "\n  " + p;
    throw InvalidArgument(msg);
  }
  if (total > limits_.max_total_bytes)
    throw InvalidArgument("LOAD DIRECTORY " + dir.string() + ": the matching files hold " + format_bytes(total) +
                          ", over the " + format_bytes(limits_.max_total_bytes) +
                          " limit for one statement; load them in parts");
  return docs;
}

int64_t DocumentLoader::store_all(Store& store, const std::string& corpus, const std::vector<PendingDocument>& docs) {
  const CorpusRow c = store.catalog().corpus(corpus);
  // Refuse name conflicts before writing anything.
  std::vector<std::string> problems;
  for (size_t i = 0; i < docs.size(); ++i) {
    for (size_t j = 0; j < i; ++j)
      if (docs[j].name == docs[i].name) problems.push_back(docs[i].name + ": given twice");
    if (auto existing = store.catalog().find_document(c.id, docs[i].name))
      if (existing->content_hash != xxh3_128_hex(docs[i].text))
        problems.push_back(docs[i].name + ": corpus '" + corpus +
                           "' already has a document of this name with other text; REMOVE DOCUMENT it first");
  }
  if (!problems.empty()) {
    std::string msg = "nothing was loaded into '" + corpus + "':";
    for (const auto& p : problems) msg += "\n  " + p;
    throw InvalidArgument(msg);
  }
  std::vector<std::string> added;
  try {
    for (const auto& d : docs) {
      PutDocumentResult r = store.put_document(corpus, d.name, d.text);
      if (r.added) added.push_back(d.name);
    }
  } catch (...) {
    // Undo: a statement either loads every file or none.
    for (auto it = added.rbegin(); it != added.rend(); ++it) {
      try {
        store.remove_document(corpus, *it);
      } catch (...) {
      }
    }
    throw;
  }
  return static_cast<int64_t>(added.size());
}

}  // namespace cdb
