#include "train/synthetic_dataset.h"

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "storage/artifact_store.h"
#include "train/stored_meta.h"

namespace cdb {
namespace {

constexpr int kDatasetVersion = 1;

template <typename T>
std::vector<T> to_vec(const ArtifactSet& set, std::string_view name, const std::string& what, DType dt) {
  const DecodedTensor& t = set.at(name, what);
  if (t.dtype() != dt)
    throw CorruptData(what + "/" + std::string(name) + ": unexpected dtype " + std::string(dtype_name(t.dtype())));
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

void save_dataset(ArtifactStore& store, const std::string& prefix, const SyntheticDataset& data) {
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
  store.put(prefix + "data",
            {{"tokens", {DType::I32, {total}, tokens.data()}},
             {"offsets", {DType::I64, {n + 1}, offsets.data()}},
             {"topk_ids", {DType::I32, {total, data.top_k}, ids.data()}},
             {"topk_logprobs", {DType::F32, {total, data.top_k}, lps.data()}},
             {"chunks", {DType::I64, {n, 2}, chunks.data()}},
             {"seed_kinds", {DType::I32, {n}, kinds.data()}}},
            meta.dump());
}

bool has_dataset(const ArtifactStore& store, const std::string& prefix) { return store.contains(prefix + "data"); }

SyntheticDataset load_dataset(const ArtifactStore& store, const std::string& prefix) {
  const std::string what = "dataset " + prefix + "data";
  std::optional<ArtifactSet> set = store.get(prefix + "data");
  if (!set) throw NotFound(what + " is not in the store; synthesize it first");
  const nlohmann::json meta = stored_meta(*set, what, kDatasetVersion);
  SyntheticDataset d;
  d.top_k = meta.value("top_k", int64_t{0});
  auto tokens = to_vec<int32_t>(*set, "tokens", what, DType::I32);
  auto offsets = to_vec<int64_t>(*set, "offsets", what, DType::I64);
  auto ids = to_vec<int32_t>(*set, "topk_ids", what, DType::I32);
  auto lps = to_vec<float>(*set, "topk_logprobs", what, DType::F32);
  auto chunks = to_vec<int64_t>(*set, "chunks", what, DType::I64);
  auto kinds = to_vec<int32_t>(*set, "seed_kinds", what, DType::I32);
  const size_t n = offsets.empty() ? 0 : offsets.size() - 1;
  const size_t k = static_cast<size_t>(d.top_k);
  if (offsets.empty() || chunks.size() != 2 * n || kinds.size() != n ||
      offsets.back() != static_cast<int64_t>(tokens.size()) || ids.size() != tokens.size() * k ||
      lps.size() != tokens.size() * k)
    throw CorruptData(what + ": its arrays disagree in size");
  d.examples.resize(n);
  for (size_t i = 0; i < n; ++i) {
    auto& e = d.examples[i];
    size_t b = static_cast<size_t>(offsets[i]), en = static_cast<size_t>(offsets[i + 1]);
    if (offsets[i] < 0 || en < b || en > tokens.size()) throw CorruptData(what + ": bad offsets");
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
