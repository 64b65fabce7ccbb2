// libsentencepiece, loaded in isolation.
//
// Why: Debian's libsentencepiece.so.0 carries its own copy of protobuf-lite
// 3.14 and exports every symbol of it, while LibTorch links the system
// libprotobuf 3.21. Linked into one program, whichever copy the dynamic
// loader sees first serves both, and the program crashes at start-up (or
// aborts on protobuf's version check). So nothing links libsentencepiece:
// a small shim (libcdb_sentencepiece.so, a C interface) is loaded with
// dlmopen(LM_ID_NEWLM) into a link-map namespace of its own: it and its
// dependencies (its own libstdc++ and libc included) see only each other, so
// its protobuf can never bind to LibTorch's. This replaced RTLD_DEEPBIND,
// which isolated only the shim's own lookups and which AddressSanitizer
// refuses, so sanitized builds could not use SentencePiece at all.
//
// Consequences of the separate namespace: only plain C types cross the
// interface, and memory is freed on the side that allocated it (the shim's
// malloc is not ours; hence cdb_spm_free_buffer). Each namespace takes a
// slice of glibc's small static-TLS reserve and is not returned by dlclose,
// so the shim is loaded once per process (get()) and never unloaded.
#pragma once

#include <cstddef>
#include <filesystem>

namespace cdb {

class SentencePieceLibrary {
 public:
  // The process's one instance, loaded on first use. Finds the shim beside
  // the running program (../lib), at the build path, or at
  // $CDB_SENTENCEPIECE_SHIM; IoError says where it looked (and a later call
  // tries again).
  static const SentencePieceLibrary& get();
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
  SentencePieceLibrary();
  ~SentencePieceLibrary() = delete;  // never unloaded, see above
  void* handle_ = nullptr;
};

}  // namespace cdb
