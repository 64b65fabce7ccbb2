/* The C interface of libcdb_sentencepiece.so. Plain C types only: it is
   resolved with dlsym(), so no C++ name mangling or ABI crosses it. Buffers
   returned through out-parameters are freed with cdb_spm_free_buffer. */
#pragma once

#include <stddef.h>

#define CDB_SPM_CONTROL 1
#define CDB_SPM_BYTE 2
#define CDB_SPM_UNKNOWN 4

#ifdef __cplusplus
extern "C" {
#endif

void* cdb_spm_load(const char* bytes, size_t n, char* err, size_t errlen);
void cdb_spm_free(void* handle);
void cdb_spm_free_buffer(void* buffer);
int cdb_spm_encode(void* handle, const char* text, size_t n, int** ids, size_t* count, char* err, size_t errlen);
int cdb_spm_decode(void* handle, const int* ids, size_t n, char** text, size_t* len, char* err, size_t errlen);
int cdb_spm_piece_size(void* handle);
int cdb_spm_bos_id(void* handle);
int cdb_spm_eos_id(void* handle);
const char* cdb_spm_id_to_piece(void* handle, int id, size_t* len);
int cdb_spm_piece_to_id(void* handle, const char* piece, size_t n);
int cdb_spm_id_kind(void* handle, int id);

#ifdef __cplusplus
}
#endif
