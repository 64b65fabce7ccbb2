#include "engine/tokenizer/sentencepiece_library.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "common/error.h"

namespace cdb {

namespace fs = std::filesystem;

namespace {

constexpr const char* kShimName = "libcdb_sentencepiece.so";

std::vector<fs::path> candidates() {
  std::vector<fs::path> out;
  if (const char* env = std::getenv("CDB_SENTENCEPIECE_SHIM"); env && *env) out.emplace_back(env);
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    out.push_back(exe.parent_path() / ".." / "lib" / kShimName);
    out.push_back(exe.parent_path() / kShimName);
  }
#ifdef CDB_SENTENCEPIECE_SHIM_PATH
  out.emplace_back(CDB_SENTENCEPIECE_SHIM_PATH);
#endif
  return out;
}

int open_flags() {
  int flags = RTLD_NOW | RTLD_LOCAL;
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer refuses RTLD_DEEPBIND; sanitized programs that also
  // load LibTorch's protobuf cannot use SentencePiece models.
#else
  flags |= RTLD_DEEPBIND;
#endif
  return flags;
}

template <typename F>
void resolve(void* handle, F& fn, const char* name, const fs::path& path) {
  void* sym = dlsym(handle, name);
  if (!sym) throw IoError(path.string() + " lacks the symbol " + name + "; rebuild the project");
  fn = reinterpret_cast<F>(sym);
}

}  // namespace

SentencePieceLibrary::SentencePieceLibrary() {
  std::string tried;
  fs::path found;
  for (const fs::path& p : candidates()) {
    std::error_code ec;
    if (!fs::exists(p, ec)) {
      tried += "\n  " + p.string() + " (absent)";
      continue;
    }
    handle_.reset(dlopen(p.c_str(), open_flags()));
    if (handle_) {
      found = p;
      break;
    }
    tried += "\n  " + p.string() + " (" + dlerror() + ")";
  }
  if (!handle_)
    throw IoError("cannot load the SentencePiece shim " + std::string(kShimName) +
                  "; set CDB_SENTENCEPIECE_SHIM to its path. Tried:" + tried);
  resolve(handle_.get(), load, "cdb_spm_load", found);
  resolve(handle_.get(), free_model, "cdb_spm_free", found);
  resolve(handle_.get(), free_buffer, "cdb_spm_free_buffer", found);
  resolve(handle_.get(), encode, "cdb_spm_encode", found);
  resolve(handle_.get(), decode, "cdb_spm_decode", found);
  resolve(handle_.get(), piece_size, "cdb_spm_piece_size", found);
  resolve(handle_.get(), bos_id, "cdb_spm_bos_id", found);
  resolve(handle_.get(), eos_id, "cdb_spm_eos_id", found);
  resolve(handle_.get(), id_to_piece, "cdb_spm_id_to_piece", found);
  resolve(handle_.get(), piece_to_id, "cdb_spm_piece_to_id", found);
  resolve(handle_.get(), id_kind, "cdb_spm_id_kind", found);
}

void SentencePieceLibrary::Close::operator()(void* handle) const { dlclose(handle); }

}  // namespace cdb
