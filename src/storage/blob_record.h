// BlobRecord: the small self-describing record written beside every blob
// (LMDB sub-database "cdb.records", under the blob's key, in the same
// transaction as the blob), so that the blobs alone say what they are when
// the catalog is lost (`cartridge store recover`).
//
// A record is a JSON object, versioned by "v" (1 today); readers ignore
// fields they do not know. By "kind":
//   document : {"v":1,"kind":"document","corpus":C,"name":N,"hash":H}
//   cartridge: {"v":1,"kind":"cartridge","corpus":C,"corpus_version":V,
//               "model":FP,"tokens":P,"dtype":D,"metrics":{...},
//               "tensor":T,"layout":[every tensor name of the Cartridge]}
//   tokens   : {"v":1,"kind":"tokens","corpus":C,"corpus_version":V,
//               "tokenizer":FP}
//   artifact : {"v":1,"kind":"artifact","scope":S,"name":N,"meta":{...}}
// Shapes and dtypes are not repeated: every blob's tensor header has them.
// Blobs written before records exist have none; recover then goes by the
// key alone (doc/<corpus id>/<hash>, cart/<id>/<tensor>, ...).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cdb {

inline constexpr int kBlobRecordVersion = 1;

struct BlobRecord {
  int version = kBlobRecordVersion;
  std::string kind;  // document, cartridge, tokens, artifact
  std::string corpus;
  std::string name;  // document name, or artifact name
  std::string hash;  // document content hash
  int64_t corpus_version = 0;
  std::string model;  // cartridge model fingerprint; tokens: tokenizer fingerprint
  int64_t tokens = 0;
  std::string dtype;
  std::string metrics = "{}";  // cartridge metrics, artifact meta (JSON text)
  std::string tensor;          // this blob's tensor name within its Cartridge
  std::vector<std::string> layout;
  std::string scope;
};

std::string encode_record(const BlobRecord& r);
// nullopt when the bytes are not a record this build understands (a newer
// version's unknown kind, or damage); recover then treats the blob as
// record-less.
std::optional<BlobRecord> decode_record(std::string_view bytes);

}  // namespace cdb
