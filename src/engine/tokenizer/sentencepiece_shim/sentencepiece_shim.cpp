// A C interface over libsentencepiece, built as its own shared library and
// only ever dlopen()ed (see sentencepiece_library.h for why).
#include <sentencepiece_processor.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "engine/tokenizer/sentencepiece_shim/sentencepiece_shim.h"

namespace {

void set_error(char* err, size_t len, const std::string& msg) {
  if (!err || len == 0) return;
  std::strncpy(err, msg.c_str(), len - 1);
  err[len - 1] = '\0';
}

sentencepiece::SentencePieceProcessor* sp(void* handle) {
  return static_cast<sentencepiece::SentencePieceProcessor*>(handle);
}

}  // namespace

extern "C" {

void* cdb_spm_load(const char* bytes, size_t n, char* err, size_t errlen) {
  auto* p = new sentencepiece::SentencePieceProcessor();
  auto status = p->LoadFromSerializedProto(std::string_view(bytes, n));
  if (!status.ok()) {
    set_error(err, errlen, status.ToString());
    delete p;
    return nullptr;
  }
  return p;
}

void cdb_spm_free(void* handle) { delete sp(handle); }

void cdb_spm_free_buffer(void* buffer) { std::free(buffer); }

int cdb_spm_encode(void* handle, const char* text, size_t n, int** ids, size_t* count, char* err, size_t errlen) {
  std::vector<int> out;
  auto status = sp(handle)->Encode(std::string_view(text, n), &out);
  if (!status.ok()) {
    set_error(err, errlen, status.ToString());
    return -1;
  }
  *count = out.size();
  *ids = static_cast<int*>(std::malloc(sizeof(int) * (out.empty() ? 1 : out.size())));
  if (!*ids) return -1;
  std::memcpy(*ids, out.data(), sizeof(int) * out.size());
  return 0;
}

int cdb_spm_decode(void* handle, const int* ids, size_t n, char** text, size_t* len, char* err, size_t errlen) {
  std::string out;
  auto status = sp(handle)->Decode(std::vector<int>(ids, ids + n), &out);
  if (!status.ok()) {
    set_error(err, errlen, status.ToString());
    return -1;
  }
  *len = out.size();
  *text = static_cast<char*>(std::malloc(out.size() + 1));
  if (!*text) return -1;
  std::memcpy(*text, out.data(), out.size());
  return 0;
}

int cdb_spm_piece_size(void* handle) { return sp(handle)->GetPieceSize(); }
int cdb_spm_bos_id(void* handle) { return sp(handle)->bos_id(); }
int cdb_spm_eos_id(void* handle) { return sp(handle)->eos_id(); }

const char* cdb_spm_id_to_piece(void* handle, int id, size_t* len) {
  const std::string& piece = sp(handle)->IdToPiece(id);
  *len = piece.size();
  return piece.data();
}

int cdb_spm_piece_to_id(void* handle, const char* piece, size_t n) {
  return sp(handle)->PieceToId(std::string_view(piece, n));
}

int cdb_spm_id_kind(void* handle, int id) {
  int kind = 0;
  if (sp(handle)->IsControl(id)) kind |= CDB_SPM_CONTROL;
  if (sp(handle)->IsByte(id)) kind |= CDB_SPM_BYTE;
  if (sp(handle)->IsUnknown(id)) kind |= CDB_SPM_UNKNOWN;
  return kind;
}

}  // extern "C"
