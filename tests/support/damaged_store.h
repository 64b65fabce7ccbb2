// Helpers for tests that damage a store's files on purpose: a small filled
// store, read-only options, and an open run in a child process so that a
// crash (SIGBUS from a truncated map) is a test failure, not the end of the
// test binary.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/error.h"
#include "storage/store.h"

namespace cdb::test {

inline std::string numbered_text(int i) { return "text number " + std::to_string(i) + std::string(3000, 'x'); }

// A store with corpus "c" holding documents d0..d<docs-1> (numbered_text).
inline void fill_documents(const std::filesystem::path& dir, int docs = 3) {
  Store s(dir);
  s.create_corpus("c");
  for (int i = 0; i < docs; ++i) s.put_document("c", "d" + std::to_string(i), numbered_text(i));
}

inline StoreOptions read_only_store() {
  StoreOptions o;
  o.read_only = true;
  return o;
}

inline BlobStoreOptions read_only_blobs() {
  BlobStoreOptions o;
  o.read_only = true;
  return o;
}

// Opens the store in a child: "ok", "CorruptData: <message>", "other error:
// <message>", or "killed by signal N".
inline std::string open_in_child(const std::filesystem::path& dir, StoreOptions options = {}) {
  int fds[2];
  if (::pipe(fds) != 0) return "pipe failed";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    std::string out = "ok";
    try {
      Store s(dir, options);
    } catch (const CorruptData& e) {
      out = std::string("CorruptData: ") + e.what();
    } catch (const std::exception& e) {
      out = std::string("other error: ") + e.what();
    }
    (void)!::write(fds[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return out;
}

}  // namespace cdb::test
