#include "engine/hf_config.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/error.h"

namespace cdb {

namespace {

using nlohmann::json;

struct Reader {
  const json& j;
  const std::string& source;

  CorruptData bad(const std::string& key, const std::string& what) const {
    return CorruptData("model config " + source + ": \"" + key + "\" " + what);
  }
  bool has(const std::string& key) const { return j.contains(key) && !j[key].is_null(); }
  int64_t integer(const std::string& key) const {
    if (!has(key)) throw bad(key, "is missing");
    if (!j[key].is_number_integer()) throw bad(key, "is not an integer: " + j[key].dump());
    int64_t v = j[key].get<int64_t>();
    if (v <= 0) throw bad(key, "must be positive, got " + std::to_string(v));
    return v;
  }
  int64_t integer_or(const std::string& key, int64_t fallback) const { return has(key) ? integer(key) : fallback; }
  double number_or(const std::string& key, double fallback) const {
    if (!has(key)) return fallback;
    if (!j[key].is_number()) throw bad(key, "is not a number: " + j[key].dump());
    return j[key].get<double>();
  }
  bool boolean_or(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!j[key].is_boolean()) throw bad(key, "is not a boolean: " + j[key].dump());
    return j[key].get<bool>();
  }
  std::string string_or(const std::string& key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    if (!j[key].is_string()) throw bad(key, "is not a string: " + j[key].dump());
    return j[key].get<std::string>();
  }
};

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string dtype_from_torch(const std::string& t) {
  if (t == "float32" || t == "float") return "f32";
  if (t == "bfloat16") return "bf16";
  if (t == "float16" || t == "half") return "f16";
  return "";
}

const char* torch_from_dtype(const std::string& d) {
  if (d == "bf16") return "bfloat16";
  if (d == "f16") return "float16";
  return "float32";
}

}  // namespace

const std::vector<std::string>& supported_hf_architectures() {
  static const std::vector<std::string> kArchs = {"LlamaForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"};
  return kArchs;
}

const char* hf_architecture_name(Arch a) {
  switch (a) {
    case Arch::Llama: return "LlamaForCausalLM";
    case Arch::Qwen2: return "Qwen2ForCausalLM";
    case Arch::Qwen3: return "Qwen3ForCausalLM";
  }
  return "?";
}

ModelConfig parse_hf_config(std::string_view text, const std::string& source) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw CorruptData("model config " + source + " is not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw CorruptData("model config " + source + " is not a JSON object");
  Reader r{j, source};

  std::string arch_name;
  if (r.has("architectures")) {
    const json& a = j["architectures"];
    if (!a.is_array() || a.empty() || !a[0].is_string()) throw r.bad("architectures", "is not a list of names");
    arch_name = a[0].get<std::string>();
  } else {
    // Some exported configs carry only model_type.
    std::string mt = r.string_or("model_type", "");
    arch_name = mt == "llama" ? "LlamaForCausalLM" : mt == "qwen2" ? "Qwen2ForCausalLM"
              : mt == "qwen3" ? "Qwen3ForCausalLM" : (mt.empty() ? "(none)" : "model_type " + mt);
  }
  ModelConfig c;
  if (arch_name == "LlamaForCausalLM") c.arch = Arch::Llama;
  else if (arch_name == "Qwen2ForCausalLM") c.arch = Arch::Qwen2;
  else if (arch_name == "Qwen3ForCausalLM") c.arch = Arch::Qwen3;
  else
    throw Unsupported("model config " + source + ": architecture " + arch_name +
                      " is not supported; supported: " + join(supported_hf_architectures()));

  c.dim = r.integer("hidden_size");
  c.hidden_dim = r.integer("intermediate_size");
  c.n_layers = r.integer("num_hidden_layers");
  c.n_heads = r.integer("num_attention_heads");
  c.n_kv_heads = r.integer_or("num_key_value_heads", c.n_heads);
  c.vocab_size = r.integer("vocab_size");
  if (r.has("head_dim")) {
    c.head_dim = r.integer("head_dim");
  } else {
    if (c.dim % c.n_heads != 0)
      throw r.bad("hidden_size", "(" + std::to_string(c.dim) + ") is not a multiple of num_attention_heads (" +
                                     std::to_string(c.n_heads) + ") and no head_dim is given");
    c.head_dim = c.dim / c.n_heads;
  }
  if (c.head_dim % 2 != 0) throw r.bad("head_dim", "must be even for RoPE, got " + std::to_string(c.head_dim));
  if (c.n_heads % c.n_kv_heads != 0)
    throw r.bad("num_key_value_heads", "(" + std::to_string(c.n_kv_heads) + ") does not divide num_attention_heads (" +
                                           std::to_string(c.n_heads) + ")");
  c.max_seq_len = r.integer_or("max_position_embeddings", 2048);
  c.norm_eps = r.number_or("rms_norm_eps", 1e-6);
  c.rope_theta = r.number_or("rope_theta", 10000.0);
  c.rope_style = RopeStyle::Half;
  c.tied_embeddings = r.boolean_or("tie_word_embeddings", false);
  c.qkv_bias = c.arch == Arch::Qwen2;
  c.qk_norm = c.arch == Arch::Qwen3;

  const std::string act = r.string_or("hidden_act", "silu");
  if (act != "silu") throw Unsupported("model config " + source + ": hidden_act " + act + " is not supported (only silu)");
  if (c.arch != Arch::Qwen2 && r.boolean_or("attention_bias", false))
    throw Unsupported("model config " + source + ": attention_bias=true (an o_proj bias) is not supported for " + arch_name);
  if (r.boolean_or("mlp_bias", false)) throw Unsupported("model config " + source + ": mlp_bias=true is not supported");
  if (r.boolean_or("use_sliding_window", false))
    throw Unsupported("model config " + source + ": use_sliding_window=true is not supported");

  if (r.has("rope_scaling")) {
    const json& s = j["rope_scaling"];
    if (!s.is_object()) throw r.bad("rope_scaling", "is not an object");
    Reader rs{s, source};
    std::string type = rs.string_or("rope_type", rs.string_or("type", "default"));
    if (type == "llama3") {
      c.rope_scaling.type = "llama3";
      c.rope_scaling.factor = rs.number_or("factor", 8.0);
      c.rope_scaling.low_freq_factor = rs.number_or("low_freq_factor", 1.0);
      c.rope_scaling.high_freq_factor = rs.number_or("high_freq_factor", 4.0);
      c.rope_scaling.original_max_position_embeddings = rs.integer_or("original_max_position_embeddings", 8192);
      if (c.rope_scaling.factor <= 0 || c.rope_scaling.high_freq_factor <= c.rope_scaling.low_freq_factor)
        throw r.bad("rope_scaling", "has inconsistent llama3 factors: " + s.dump());
    } else if (type != "default") {
      throw Unsupported("model config " + source + ": rope_scaling type '" + type +
                        "' is not supported (supported: llama3, default)");
    }
  }

  if (j.contains("bos_token_id")) {
    const json& b = j["bos_token_id"];
    if (b.is_null()) c.bos_id = -1;
    else if (b.is_number_integer()) c.bos_id = b.get<int64_t>();
    else throw r.bad("bos_token_id", "is not an integer: " + b.dump());
  }
  if (j.contains("eos_token_id")) {
    const json& e = j["eos_token_id"];
    c.eos_ids.clear();
    if (e.is_number_integer()) c.eos_ids.push_back(e.get<int64_t>());
    else if (e.is_array()) {
      for (const auto& x : e) {
        if (!x.is_number_integer()) throw r.bad("eos_token_id", "is not a list of integers: " + e.dump());
        c.eos_ids.push_back(x.get<int64_t>());
      }
    } else if (!e.is_null()) {
      throw r.bad("eos_token_id", "is neither an integer nor a list: " + e.dump());
    }
  }
  // Newer transformers write "dtype" instead of "torch_dtype".
  std::string td = r.string_or("torch_dtype", r.string_or("dtype", "float32"));
  std::string d = dtype_from_torch(td);
  c.weight_dtype = d.empty() ? "f32" : d;
  return c;
}

ModelConfig read_hf_config(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!std::filesystem::exists(path)) throw NotFound("model config " + path.string() + " does not exist");
    throw IoError("cannot read model config " + path.string());
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_hf_config(ss.str(), path.string());
}

std::string hf_config_json(const ModelConfig& c) {
  if (c.rope_style != RopeStyle::Half)
    throw InvalidArgument("hf_config_json: the HF layout uses rotate-half RoPE; permute an Interleaved model's wq/wk first");
  json j;
  j["architectures"] = {hf_architecture_name(c.arch)};
  j["model_type"] = c.arch == Arch::Llama ? "llama" : c.arch == Arch::Qwen2 ? "qwen2" : "qwen3";
  j["hidden_size"] = c.dim;
  j["intermediate_size"] = c.hidden_dim;
  j["num_hidden_layers"] = c.n_layers;
  j["num_attention_heads"] = c.n_heads;
  j["num_key_value_heads"] = c.n_kv_heads;
  j["head_dim"] = c.head_dim;
  j["vocab_size"] = c.vocab_size;
  j["max_position_embeddings"] = c.max_seq_len;
  j["rms_norm_eps"] = c.norm_eps;
  j["rope_theta"] = c.rope_theta;
  if (c.rope_scaling.type == "llama3") {
    j["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", c.rope_scaling.factor},
                         {"low_freq_factor", c.rope_scaling.low_freq_factor},
                         {"high_freq_factor", c.rope_scaling.high_freq_factor},
                         {"original_max_position_embeddings", c.rope_scaling.original_max_position_embeddings}};
  } else {
    j["rope_scaling"] = nullptr;
  }
  j["tie_word_embeddings"] = c.tied_embeddings;
  j["hidden_act"] = "silu";
  if (c.arch != Arch::Qwen2) j["attention_bias"] = false;
  j["mlp_bias"] = false;
  j["initializer_range"] = 0.02;
  j["use_cache"] = true;
  if (c.bos_id >= 0) j["bos_token_id"] = c.bos_id;
  else j["bos_token_id"] = nullptr;
  if (c.eos_ids.size() == 1) j["eos_token_id"] = c.eos_ids[0];
  else j["eos_token_id"] = c.eos_ids;
  j["torch_dtype"] = torch_from_dtype(c.weight_dtype);
  return j.dump(2) + "\n";
}

}  // namespace cdb
