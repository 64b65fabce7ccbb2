#include "train/synthetic_dataset.h"

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "storage/blob_store.h"
#include "storage/tensor_codec.h"

namespace cdb {
namespace {

constexpr int kDatasetVersion = 1;

template <typename T>
std::string encode_vec(const std::vector<T>& v, DType dt, std::vector<int64_t> shape) {
  return encode_tensor(TensorView{dt, std::move(shape), v.data()}, CodecOptions{.threads = 1});
}

template <typename T>
std::vector<T> decode_vec(std::string_view blob, const std::string& what, DType dt) {
  DecodedTensor t = decode_tensor(blob, what, 1);
  if (t.dtype() != dt) throw CorruptData(what + ": unexpected dtype " + std::string(dtype_name(t.dtype())));
  const T* p = t.as<T>();
  return std::vector<T>(p, p + t.numel());
}

}  // namespace

int64_t SyntheticDataset::total_tokens() const {
  int64_t n = 0;
  for (const auto& e : examples) n += static_cast<int64_t>(e.tokens.size());
  return n;
}

void SyntheticDataset::validate(const std::string& what) const {
  if (top_k < 1) throw CorruptData(what + ": top_k " + std::to_string(top_k) + " < 1");
  for (size_t i = 0; i < examples.size(); ++i) {
    const auto& e = examples[i];
    size_t n = e.tokens.size() * static_cast<size_t>(top_k);
    if (e.tokens.empty() || e.topk_ids.size() != n || e.topk_logprobs.size() != n)
      throw CorruptData(what + ": example " + std::to_string(i) + " has inconsistent sizes");
  }
}

void save_dataset(BlobStore& blobs, const std::string& prefix, const SyntheticDataset& data) {
  data.validate("dataset to save");
  std::vector<int32_t> tokens, ids, kinds;
  std::vector<float> lps;
  std::vector<int64_t> offsets{0}, chunks;
  for (const auto& e : data.examples) {
    tokens.insert(tokens.end(), e.tokens.begin(), e.tokens.end());
    ids.insert(ids.end(), e.topk_ids.begin(), e.topk_ids.end());
    lps.insert(lps.end(), e.topk_logprobs.begin(), e.topk_logprobs.end());
    offsets.push_back(static_cast<int64_t>(tokens.size()));
    chunks.push_back(e.chunk.begin);
    chunks.push_back(e.chunk.end);
    kinds.push_back(e.seed_kind);
  }
  const int64_t n = static_cast<int64_t>(data.examples.size());
  const int64_t total = static_cast<int64_t>(tokens.size());
  nlohmann::json meta = {{"version", kDatasetVersion}, {"top_k", data.top_k}, {"examples", n},
                         {"tokens", total}};
  std::string b_tokens = encode_vec(tokens, DType::I32, {total});
  std::string b_offsets = encode_vec(offsets, DType::I64, {n + 1});
  std::string b_ids = encode_vec(ids, DType::I32, {total, data.top_k});
  std::string b_lps = encode_vec(lps, DType::F32, {total, data.top_k});
  std::string b_chunks = encode_vec(chunks, DType::I64, {n, 2});
  std::string b_kinds = encode_vec(kinds, DType::I32, {n});
  std::string b_meta = meta.dump();
  blobs.write([&](BlobStore::WriteTxn& txn) {
    txn.put(prefix + "data/tokens", b_tokens);
    txn.put(prefix + "data/offsets", b_offsets);
    txn.put(prefix + "data/topk_ids", b_ids);
    txn.put(prefix + "data/topk_logprobs", b_lps);
    txn.put(prefix + "data/chunks", b_chunks);
    txn.put(prefix + "data/seed_kinds", b_kinds);
    // Written last in the same transaction: its presence marks a complete dataset.
    txn.put(prefix + "data/meta", b_meta);
  });
}

bool has_dataset(const BlobStore& blobs, const std::string& prefix) {
  auto txn = blobs.read();
  return txn.get(prefix + "data/meta").has_value();
}

SyntheticDataset load_dataset(const BlobStore& blobs, const std::string& prefix) {
  auto txn = blobs.read();
  const std::string what = "dataset " + prefix + "data";
  auto meta_blob = txn.get(prefix + "data/meta");
  if (!meta_blob) throw NotFound(what + " is not in the store; synthesize it first");
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(*meta_blob);
  } catch (const nlohmann::json::exception& e) {
    throw CorruptData(what + "/meta is not JSON: " + e.what());
  }
  if (meta.value("version", 0) != kDatasetVersion)
    throw Unsupported(what + " has format version " + std::to_string(meta.value("version", 0)));
  SyntheticDataset d;
  d.top_k = meta.at("top_k").get<int64_t>();
  auto tokens = decode_vec<int32_t>(txn.at(prefix + "data/tokens"), what + "/tokens", DType::I32);
  auto offsets = decode_vec<int64_t>(txn.at(prefix + "data/offsets"), what + "/offsets", DType::I64);
  auto ids = decode_vec<int32_t>(txn.at(prefix + "data/topk_ids"), what + "/topk_ids", DType::I32);
  auto lps = decode_vec<float>(txn.at(prefix + "data/topk_logprobs"), what + "/topk_logprobs", DType::F32);
  auto chunks = decode_vec<int64_t>(txn.at(prefix + "data/chunks"), what + "/chunks", DType::I64);
  auto kinds = decode_vec<int32_t>(txn.at(prefix + "data/seed_kinds"), what + "/seed_kinds", DType::I32);
  const size_t n = offsets.empty() ? 0 : offsets.size() - 1;
  const size_t k = static_cast<size_t>(d.top_k);
  if (chunks.size() != 2 * n || kinds.size() != n || offsets.back() != static_cast<int64_t>(tokens.size()) ||
      ids.size() != tokens.size() * k || lps.size() != tokens.size() * k)
    throw CorruptData(what + ": its arrays disagree in size");
  d.examples.resize(n);
  for (size_t i = 0; i < n; ++i) {
    auto& e = d.examples[i];
    size_t b = static_cast<size_t>(offsets[i]), en = static_cast<size_t>(offsets[i + 1]);
    if (en < b || en > tokens.size()) throw CorruptData(what + ": bad offsets");
    e.tokens.assign(tokens.begin() + b, tokens.begin() + en);
    e.topk_ids.assign(ids.begin() + b * k, ids.begin() + en * k);
    e.topk_logprobs.assign(lps.begin() + b * k, lps.begin() + en * k);
    e.chunk = {chunks[2 * i], chunks[2 * i + 1]};
    e.seed_kind = kinds[i];
  }
  d.validate(what);
  return d;
}

}  // namespace cdb
