// libsentencepiece, loaded in isolation.
//
// Why: Debian's libsentencepiece.so.0 carries its own copy of protobuf-lite
// 3.14 and exports every symbol of it, while LibTorch links the system
// libprotobuf 3.21. Linked into one program, whichever copy the dynamic
// loader sees first serves both, and the program crashes at start-up (or
// aborts on protobuf's version check). So nothing links libsentencepiece:
// a small shim (libcdb_sentencepiece.so, a C interface) is dlopen()ed with
// RTLD_LOCAL | RTLD_DEEPBIND, which keeps its symbols out of the global
// scope and makes it and its dependencies resolve to their own protobuf.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>

namespace cdb {

class SentencePieceLibrary {
 public:
  // Finds the shim beside the running program (../lib), at the build path,
  // or at $CDB_SENTENCEPIECE_SHIM; IoError says where it looked.
  SentencePieceLibrary();
  SentencePieceLibrary(const SentencePieceLibrary&) = delete;
  SentencePieceLibrary& operator=(const SentencePieceLibrary&) = delete;

  void* (*load)(const char*, size_t, char*, size_t) = nullptr;
  void (*free_model)(void*) = nullptr;
  void (*free_buffer)(void*) = nullptr;
  int (*encode)(void*, const char*, size_t, int**, size_t*, char*, size_t) = nullptr;
  int (*decode)(void*, const int*, size_t, char**, size_t*, char*, size_t) = nullptr;
  int (*piece_size)(void*) = nullptr;
  int (*bos_id)(void*) = nullptr;
  int (*eos_id)(void*) = nullptr;
  const char* (*id_to_piece)(void*, int, size_t*) = nullptr;
  int (*piece_to_id)(void*, const char*, size_t) = nullptr;
  int (*id_kind)(void*, int) = nullptr;

 private:
  struct Close {
    void operator()(void* handle) const;
  };
  std::unique_ptr<void, Close> handle_;
};

}  // namespace cdb
