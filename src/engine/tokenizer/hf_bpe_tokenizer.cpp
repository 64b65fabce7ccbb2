#include "engine/tokenizer/hf_bpe_tokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "common/error.h"
#include "engine/tokenizer/bpe_merge.h"
#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/fingerprint.h"
#include "engine/tokenizer/nfc.h"
#include "engine/tokenizer/utf8.h"

namespace cdb {

namespace {

using nlohmann::json;

// GPT-2's split, used by a ByteLevel pre-tokenizer with use_regex.
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

json parse_json(const std::string& text, const std::string& where) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw CorruptData(where + " is not valid JSON: " + e.what());
  }
}

std::string type_of(const json& j) { return j.is_object() && j.contains("type") ? j["type"].get<std::string>() : ""; }

// bos_token / eos_token in tokenizer_config.json: a string, an AddedToken
// object or null.
std::optional<std::string> config_token(const json& config, const char* key) {
  if (!config.is_object() || !config.contains(key)) return std::nullopt;
  const json& v = config[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return std::nullopt;
}

std::string quote_regex(std::string_view literal) {
  std::string out;
  for (char c : literal) {
    if (std::strchr("\\^$.|?*+()[]{}", c) != nullptr) out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

HfBpeTokenizer::HfBpeTokenizer(const Files& files, const std::filesystem::path& source) {
  const std::string where = source.string();
  json tj = parse_json(files.tokenizer_json, where);
  if (!tj.is_object() || !tj.contains("model")) throw CorruptData(where + " has no \"model\" (not a tokenizer.json?)");
  try {
    const json& model = tj["model"];
    read_vocab(model, tj.value("added_tokens", json::array()), where);
    read_merges(model["merges"], where);
    read_normalizer(tj.value("normalizer", json()), where);
    read_pre_tokenizer(tj.value("pre_tokenizer", json()), where);
    const json decoder = tj.value("decoder", json());
    if (type_of(decoder) != "ByteLevel") {
      throw Unsupported(where + ": decoder \"" + type_of(decoder) + "\" is not supported (only ByteLevel)");
    }
  } catch (const json::exception& e) {
    throw CorruptData(where + ": unexpected structure: " + e.what());
  }
  read_special_ids(files, where);
  fingerprint_ =
      tokenizer_fingerprint({files.tokenizer_json, files.tokenizer_config_json, files.generation_config_json}, kind());
}

void HfBpeTokenizer::read_vocab(const json& model, const json& added, const std::string& where) {
  if (type_of(model) != "BPE" && !(model.contains("vocab") && model.contains("merges"))) {
    throw Unsupported(where + ": model type \"" + type_of(model) + "\" is not supported (only byte-level BPE)");
  }
  if (model.value("byte_fallback", false)) {
    throw Unsupported(where + ": BPE with byte_fallback (a SentencePiece conversion) is not supported; "
                      "load the tokenizer.model instead");
  }
  for (const char* affix : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (model.contains(affix) && model[affix].is_string() && !model[affix].get<std::string>().empty()) {
      throw Unsupported(where + ": BPE " + affix + " is not supported");
    }
  }
  ignore_merges_ = model.value("ignore_merges", false);

  // The id space: model vocab plus added tokens.
  int64_t max_id = -1;
  for (const auto& [piece, id] : model["vocab"].items()) max_id = std::max<int64_t>(max_id, id.get<int64_t>());
  for (const json& t : added) max_id = std::max<int64_t>(max_id, t["id"].get<int64_t>());
  if (max_id < 0 || max_id >= (int64_t{1} << 31)) throw CorruptData(where + ": empty or oversized vocab");
  id_bytes_.resize(static_cast<size_t>(max_id + 1));
  id_known_.assign(id_bytes_.size(), false);

  for (const auto& [piece, idj] : model["vocab"].items()) {
    auto id = idj.get<int32_t>();
    auto raw = byte_level_decode(piece);
    if (!raw) {
      throw Unsupported(where + ": vocab entry \"" + piece + "\" (id " + std::to_string(id) +
                        ") is not in the byte-level alphabet; only byte-level BPE is supported");
    }
    id_bytes_[id] = std::move(*raw);
    id_known_[id] = true;
  }
  for (const json& t : added) {
    AddedToken a{t["content"].get<std::string>(), t["id"].get<int32_t>(), t.value("lstrip", false),
                 t.value("rstrip", false)};
    if (a.content.empty()) throw CorruptData(where + ": added token " + std::to_string(a.id) + " is empty");
    id_bytes_[a.id] = a.content;
    id_known_[a.id] = true;
    added_ids_[a.content] = a.id;
    added_.push_back(std::move(a));
  }
  // Views are taken only now that id_bytes_ no longer changes.
  model_ids_.reserve(id_bytes_.size());
  for (size_t id = 0; id < id_bytes_.size(); ++id) {
    if (id_known_[id] && !added_ids_.count(id_bytes_[id])) model_ids_.emplace(id_bytes_[id], static_cast<int32_t>(id));
  }
  for (size_t i = 0; i < added_.size(); ++i) {
    added_by_first_byte_[static_cast<unsigned char>(added_[i].content[0])].push_back(i);
  }
  for (auto& list : added_by_first_byte_) {
    std::stable_sort(list.begin(), list.end(),
                     [&](size_t a, size_t b) { return added_[a].content.size() > added_[b].content.size(); });
  }
  for (int b = 0; b < 256; ++b) {
    auto it = model_ids_.find(std::string(1, static_cast<char>(b)));
    if (it == model_ids_.end()) {
      throw Unsupported(where + ": the vocab lacks the byte-level token for byte " + std::to_string(b) +
                        "; only complete byte-level vocabs are supported");
    }
    byte_ids_[b] = it->second;
  }
}

void HfBpeTokenizer::read_merges(const json& merges, const std::string& where) {
  merges_.reserve(merges.size());
  std::string left, right;
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const json& m = merges[rank];
    if (m.is_string()) {  // "a b"
      const auto& s = m.get_ref<const std::string&>();
      size_t sp = s.find(' ');
      if (sp == std::string::npos)
        throw CorruptData(where + ": merge " + std::to_string(rank) + " \"" + s + "\" lacks a space");
      left = s.substr(0, sp);
      right = s.substr(sp + 1);
    } else if (m.is_array() && m.size() == 2) {  // ["a", "b"]
      left = m[0].get<std::string>();
      right = m[1].get<std::string>();
    } else {
      throw CorruptData(where + ": merge " + std::to_string(rank) + " is neither \"a b\" nor [\"a\", \"b\"]");
    }
    auto find = [&](const std::string& piece) -> int32_t {
      auto raw = byte_level_decode(piece);
      auto it = raw ? model_ids_.find(*raw) : model_ids_.end();
      if (it == model_ids_.end()) {
        throw CorruptData(where + ": merge " + std::to_string(rank) + " uses \"" + piece +
                          "\", which is not in the vocab");
      }
      return it->second;
    };
    int32_t a = find(left), b = find(right), merged = find(left + right);
    uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
    merges_.emplace(key, std::make_pair(static_cast<int32_t>(rank), merged));  // first (best) rank wins
  }
}

void HfBpeTokenizer::read_normalizer(const json& n, const std::string& where) {
  if (n.is_null()) return;
  const std::string type = type_of(n);
  if (type == "NFC") {
    nfc_ = true;
  } else if (type == "Sequence") {
    for (const json& sub : n["normalizers"]) read_normalizer(sub, where);
  } else {
    throw Unsupported(where + ": normalizer \"" + type + "\" is not supported (only NFC)");
  }
}

void HfBpeTokenizer::read_pre_tokenizer(const json& p, const std::string& where) {
  if (p.is_null()) return;
  const std::string type = type_of(p);
  if (type == "Sequence") {
    for (const json& sub : p["pretokenizers"]) read_pre_tokenizer(sub, where);
  } else if (type == "Split") {
    if (p.value("behavior", "") != "Isolated" || p.value("invert", false)) {
      throw Unsupported(where + ": Split pre-tokenizer behavior \"" + p.value("behavior", "") + "\" (invert " +
                        (p.value("invert", false) ? "true" : "false") + ") is not supported (only Isolated)");
    }
    const json& pat = p["pattern"];
    if (pat.contains("Regex")) {
      splits_.emplace_back(pat["Regex"].get<std::string>(), where);
    } else if (pat.contains("String")) {
      splits_.emplace_back(quote_regex(pat["String"].get<std::string>()), where);
    } else {
      throw CorruptData(where + ": Split pre-tokenizer pattern is neither Regex nor String");
    }
  } else if (type == "ByteLevel") {
    if (p.value("add_prefix_space", false)) {
      throw Unsupported(where + ": ByteLevel pre-tokenizer with add_prefix_space is not supported");
    }
    if (p.value("use_regex", true)) splits_.emplace_back(kGpt2Pattern, where);
  } else {
    throw Unsupported(where + ": pre-tokenizer \"" + type + "\" is not supported");
  }
}

void HfBpeTokenizer::read_special_ids(const Files& files, const std::string& where) {
  // BOS/EOS: tokenizer_config.json, then generation_config.json's eos list
  // (instruct models stop on several ids); without a config, the usual names.
  auto id_of = [&](const std::string& piece) { return token_id(piece); };
  if (!files.tokenizer_config_json.empty()) {
    json config = parse_json(files.tokenizer_config_json, "tokenizer_config.json beside " + where);
    if (auto bos = config_token(config, "bos_token")) bos_id_ = id_of(*bos).value_or(-1);
    if (auto eos = config_token(config, "eos_token")) {
      if (auto id = id_of(*eos)) eos_ids_.push_back(*id);
    }
  } else {
    for (const char* name : {"<|begin_of_text|>", "<s>"}) {
      if (auto id = id_of(name); id && bos_id_ < 0) bos_id_ = *id;
    }
    for (const char* name : {"<|end_of_text|>", "<|endoftext|>", "</s>"}) {
      if (auto id = id_of(name); id && eos_ids_.empty()) eos_ids_.push_back(*id);
    }
  }
  if (!files.generation_config_json.empty()) {
    json gen = parse_json(files.generation_config_json, "generation_config.json beside " + where);
    json eos = gen.is_object() ? gen.value("eos_token_id", json()) : json();
    std::vector<int64_t> more;
    if (eos.is_number_integer()) more.push_back(eos.get<int64_t>());
    if (eos.is_array()) {
      for (const json& e : eos) {
        if (e.is_number_integer()) more.push_back(e.get<int64_t>());
      }
    }
    for (int64_t id : more) {
      if (id >= 0 && id < vocab_size() && std::find(eos_ids_.begin(), eos_ids_.end(), id) == eos_ids_.end()) {
        eos_ids_.push_back(static_cast<int32_t>(id));
      }
    }
  }
}

std::optional<int32_t> HfBpeTokenizer::token_id(std::string_view piece) const {
  if (auto it = added_ids_.find(std::string(piece)); it != added_ids_.end()) return it->second;
  auto raw = byte_level_decode(piece);
  if (!raw) return std::nullopt;
  auto it = model_ids_.find(*raw);
  if (it == model_ids_.end()) return std::nullopt;
  return it->second;
}

std::vector<int32_t> HfBpeTokenizer::encode(std::string_view text, bool add_bos) const {
  if (size_t bad = utf8_invalid_offset(text); bad != std::string_view::npos) {
    throw InvalidArgument("text to tokenize is not valid UTF-8 at byte offset " + std::to_string(bad) + " of " +
                          std::to_string(text.size()));
  }
  std::vector<int32_t> out;
  if (add_bos && bos_id_ >= 0) out.push_back(bos_id_);
  // Split on added tokens first: leftmost, then longest.
  size_t seg_begin = 0, pos = 0;
  while (pos < text.size()) {
    const AddedToken* hit = nullptr;
    for (size_t i : added_by_first_byte_[static_cast<unsigned char>(text[pos])]) {
      const std::string& c = added_[i].content;
      if (text.compare(pos, c.size(), c) == 0) {
        hit = &added_[i];
        break;
      }
    }
    if (!hit) {
      ++pos;
      continue;
    }
    std::string_view before = text.substr(seg_begin, pos - seg_begin);
    if (hit->lstrip) {
      while (!before.empty() && std::isspace(static_cast<unsigned char>(before.back()))) before.remove_suffix(1);
    }
    encode_text(before, out);
    out.push_back(hit->id);
    pos += hit->content.size();
    if (hit->rstrip) {
      while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
    }
    seg_begin = pos;
  }
  encode_text(text.substr(seg_begin), out);
  return out;
}

void HfBpeTokenizer::encode_text(std::string_view text, std::vector<int32_t>& out) const {
  if (text.empty()) return;
  std::string normalized;
  if (nfc_) {
    normalized = nfc_normalize(text);
    text = normalized;
  }
  // Each Split refines the pieces of the previous one; Isolated keeps both
  // the matches and the text between them.
  std::vector<std::pair<size_t, size_t>> pieces{{0, text.size()}};
  for (const Pcre2Regex& re : splits_) {
    std::vector<std::pair<size_t, size_t>> next;
    for (auto [b, e] : pieces) {
      size_t cursor = b;
      for (auto [mb, me] : re.find_all(text.substr(b, e - b))) {
        if (b + mb > cursor) next.emplace_back(cursor, b + mb);
        next.emplace_back(b + mb, b + me);
        cursor = b + me;
      }
      if (cursor < e) next.emplace_back(cursor, e);
    }
    pieces = std::move(next);
  }
  for (auto [b, e] : pieces) encode_pretoken(text.substr(b, e - b), out);
}

void HfBpeTokenizer::encode_pretoken(std::string_view bytes, std::vector<int32_t>& out) const {
  if (bytes.empty()) return;
  if (ignore_merges_) {
    if (auto it = model_ids_.find(bytes); it != model_ids_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  std::vector<int32_t> ids;
  ids.reserve(bytes.size());
  for (unsigned char b : bytes) ids.push_back(byte_ids_[b]);
  bpe_merge(ids, [&](int32_t a, int32_t b) -> std::optional<BpeMergeCandidate> {
    uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
    auto it = merges_.find(key);
    if (it == merges_.end()) return std::nullopt;
    return BpeMergeCandidate{-static_cast<double>(it->second.first), it->second.second};
  });
  out.insert(out.end(), ids.begin(), ids.end());
}

std::string HfBpeTokenizer::token_bytes(int32_t id, int32_t /*prev_id*/) const {
  if (id < 0 || id >= vocab_size() || !id_known_[id]) {
    throw InvalidArgument("token id " + std::to_string(id) + " is not in the tokenizer.json vocab of " +
                          std::to_string(vocab_size()));
  }
  return id_bytes_[id];
}

std::string HfBpeTokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  for (int32_t id : ids) out += token_bytes(id, -1);
  // As the ByteLevel decoder (errors="replace"): a byte sequence cut short
  // becomes U+FFFD. token_bytes() and StreamDecoder give the raw bytes.
  return utf8_sanitize(out);
}

}  // namespace cdb
