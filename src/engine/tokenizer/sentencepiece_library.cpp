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

template <typename F>
void resolve(void* handle, F& fn, const char* name, const fs::path& path) {
  void* sym = dlsym(handle, name);
  if (!sym) throw IoError(path.string() + " lacks the symbol " + name + "; rebuild the project");
  fn = reinterpret_cast<F>(sym);
}

}  // namespace

const SentencePieceLibrary& SentencePieceLibrary::get() {
  // A throwing constructor leaves the static uninitialized, so a later call
  // (say, after CDB_SENTENCEPIECE_SHIM is set) tries again.
  static const SentencePieceLibrary* const instance = new SentencePieceLibrary();
  return *instance;
}

SentencePieceLibrary::SentencePieceLibrary() {
  std::string tried;
  fs::path found;
  for (const fs::path& p : candidates()) {
    std::error_code ec;
    if (!fs::exists(p, ec)) {
      tried += "\n  " + p.string() + " (absent)";
      continue;
    }
    handle_ = dlmopen(LM_ID_NEWLM, p.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle_) {
      found = p;
      break;
    }
    tried += "\n  " + p.string() + " (" + dlerror() + ")";
  }
  if (!handle_)
    throw IoError("cannot load the SentencePiece shim " + std::string(kShimName) +
                  "; set CDB_SENTENCEPIECE_SHIM to its path. Tried:" + tried);
  try {
    resolve(handle_, load, "cdb_spm_load", found);
    resolve(handle_, free_model, "cdb_spm_free", found);
    resolve(handle_, free_buffer, "cdb_spm_free_buffer", found);
    resolve(handle_, encode, "cdb_spm_encode", found);
    resolve(handle_, decode, "cdb_spm_decode", found);
    resolve(handle_, piece_size, "cdb_spm_piece_size", found);
    resolve(handle_, bos_id, "cdb_spm_bos_id", found);
    resolve(handle_, eos_id, "cdb_spm_eos_id", found);
    resolve(handle_, id_to_piece, "cdb_spm_id_to_piece", found);
    resolve(handle_, piece_to_id, "cdb_spm_piece_to_id", found);
    resolve(handle_, id_kind, "cdb_spm_id_kind", found);
  } catch (...) {
    dlclose(handle_);
    throw;
  }
}

}  // namespace cdb
