#include "engine/llama2c_loader.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "common/error.h"
#include "engine/mmap_file.h"

namespace cdb {
namespace {

constexpr uint32_t kMagicV1 = 0x616b3432;  // "ak42"
constexpr int64_t kHeaderV1 = 256;
constexpr int64_t kHeaderLegacy = 7 * 4;

struct Header {
  int version = 0;  // 0: legacy
  int32_t dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
  bool shared = true;
};

Header read_header(const std::filesystem::path& path, const uint8_t* buf, int64_t size) {
  auto truncated = [&](int64_t need) {
    return CorruptData(path.filename().string() + " is truncated: expected at least " +
                       std::to_string(need) + " bytes of header, found " + std::to_string(size) +
                       " (" + path.string() + ")");
  };
  if (size < kHeaderLegacy) throw truncated(kHeaderLegacy);
  Header h;
  int32_t ints[9];
  uint32_t magic;
  std::memcpy(&magic, buf, 4);
  if (magic == kMagicV1) {
    if (size < kHeaderV1) throw truncated(kHeaderV1);
    std::memcpy(ints, buf, sizeof(ints));
    h.version = ints[1];
    if (h.version == 2)
      throw Unsupported(path.string() + " is a llama2.c version-2 (int8 quantized) checkpoint; "
                        "only fp32 (legacy and version 1) are supported");
    if (h.version != 1)
      throw CorruptData(path.string() + ": unknown llama2.c checkpoint version " + std::to_string(h.version));
    std::memcpy(&h.dim, buf + 8, 7 * 4);
    h.shared = buf[36] != 0;
  } else {
    std::memcpy(&h.dim, buf, 7 * 4);
    // Legacy files say "classifier not shared" with a negative vocab size.
    h.shared = h.vocab_size > 0;
    if (h.vocab_size < 0) h.vocab_size = -h.vocab_size;
  }
  auto bad = [&](const std::string& why) {
    return CorruptData(path.string() + ": impossible llama2.c header (" + why + "): dim=" +
                       std::to_string(h.dim) + " hidden_dim=" + std::to_string(h.hidden_dim) +
                       " n_layers=" + std::to_string(h.n_layers) + " n_heads=" + std::to_string(h.n_heads) +
                       " n_kv_heads=" + std::to_string(h.n_kv_heads) + " vocab_size=" +
                       std::to_string(h.vocab_size) + " seq_len=" + std::to_string(h.seq_len));
  };
  // Bounds keep every size product below 2^63 and catch files that are not
  // checkpoints at all.
  if (h.dim <= 0 || h.dim > (1 << 20)) throw bad("dim");
  if (h.hidden_dim <= 0 || h.hidden_dim > (1 << 20)) throw bad("hidden_dim");
  if (h.n_layers <= 0 || h.n_layers > 1024) throw bad("n_layers");
  if (h.n_heads <= 0 || h.dim % h.n_heads != 0) throw bad("n_heads must divide dim");
  if (h.n_kv_heads <= 0 || h.n_heads % h.n_kv_heads != 0) throw bad("n_kv_heads must divide n_heads");
  if ((h.dim / h.n_heads) % 2 != 0) throw bad("head_dim must be even for RoPE");
  if (h.vocab_size <= 0 || h.vocab_size > (1 << 22)) throw bad("vocab_size");
  if (h.seq_len <= 0 || h.seq_len > (1 << 24)) throw bad("seq_len");
  return h;
}

}  // namespace

LoadedModel load_llama2c(const std::filesystem::path& path) {
  if (std::filesystem::is_directory(path))
    throw InvalidArgument(path.string() + " is a directory, not a llama2.c checkpoint");
  // Views into the mapping (no copy); weights.backing keeps it alive.
  auto map = std::make_shared<MmapFile>(path);
  const int64_t size = static_cast<int64_t>(map->size());
  const Header h = read_header(path, map->data(), size);

  ModelConfig c;
  c.arch = Arch::Llama;
  c.dim = h.dim;
  c.hidden_dim = h.hidden_dim;
  c.n_layers = h.n_layers;
  c.n_heads = h.n_heads;
  c.n_kv_heads = h.n_kv_heads;
  c.head_dim = h.dim / h.n_heads;
  c.vocab_size = h.vocab_size;
  c.max_seq_len = h.seq_len;
  c.norm_eps = 1e-5;
  c.rope_theta = 10000.0;
  c.rope_style = RopeStyle::Interleaved;
  c.tied_embeddings = h.shared;
  c.bos_id = 1;
  c.eos_ids = {2};
  c.weight_dtype = "f32";

  const int64_t L = c.n_layers, D = c.dim, F = c.hidden_dim, V = c.vocab_size;
  const int64_t q_dim = c.n_heads * c.head_dim, kv_dim = c.n_kv_heads * c.head_dim;
  int64_t floats = V * D + 2 * L * D + D + L * (q_dim * D + 2 * kv_dim * D + D * q_dim + 3 * D * F);
  if (h.version == 0) floats += c.max_seq_len * c.head_dim;  // freq_cis real + imag, unused
  if (!h.shared) floats += V * D;
  const int64_t header = h.version == 0 ? kHeaderLegacy : kHeaderV1;
  const int64_t expected = header + 4 * floats;
  if (size < expected)
    throw CorruptData(path.filename().string() + " is truncated: expected " + std::to_string(expected) +
                      " bytes, found " + std::to_string(size) + " (" + path.string() + ")");

  auto* cursor = reinterpret_cast<float*>(map->mutable_data() + header);
  auto take = [&](std::vector<int64_t> shape) {
    at::Tensor t = at::from_blob(cursor, shape, at::TensorOptions().dtype(at::kFloat));
    cursor += t.numel();
    return t;
  };
  LoadedModel m;
  ModelWeights& w = m.weights;
  w.layers.resize(static_cast<size_t>(L));
  // llama2.c stores each kind of tensor for all layers back to back.
  auto per_layer = [&](std::vector<int64_t> shape, at::Tensor LayerWeights::*field) {
    for (auto& layer : w.layers) layer.*field = take(shape);
  };
  m.config = c;
  m.source = path.string();
  if (h.version == 0) {
    w.tok_embeddings = take({V, D});
    per_layer({D}, &LayerWeights::attn_norm);
    per_layer({q_dim, D}, &LayerWeights::wq);
    per_layer({kv_dim, D}, &LayerWeights::wk);
    per_layer({kv_dim, D}, &LayerWeights::wv);
    per_layer({D, q_dim}, &LayerWeights::wo);
    per_layer({D}, &LayerWeights::ffn_norm);
    per_layer({F, D}, &LayerWeights::w_gate);
    per_layer({D, F}, &LayerWeights::w_down);
    per_layer({F, D}, &LayerWeights::w_up);
    w.norm = take({D});
    cursor += c.max_seq_len * c.head_dim;  // freq_cis_real, freq_cis_imag
  } else {
    per_layer({D}, &LayerWeights::attn_norm);
    per_layer({D}, &LayerWeights::ffn_norm);
    w.norm = take({D});
    w.tok_embeddings = take({V, D});
    per_layer({q_dim, D}, &LayerWeights::wq);
    per_layer({kv_dim, D}, &LayerWeights::wk);
    per_layer({kv_dim, D}, &LayerWeights::wv);
    per_layer({D, q_dim}, &LayerWeights::wo);
    per_layer({F, D}, &LayerWeights::w_gate);
    per_layer({D, F}, &LayerWeights::w_down);
    per_layer({F, D}, &LayerWeights::w_up);
  }
  w.output = h.shared ? w.tok_embeddings : take({V, D});
  w.backing = map;
  return m;
}

}  // namespace cdb
