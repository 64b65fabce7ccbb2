#include "engine/safetensors_file.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/error.h"

namespace cdb {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; a big-endian host would need byte swaps");

namespace {

// The format's own reference implementation refuses larger headers; a
// bigger length is a corrupt or hostile file, not a big model.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

struct DtypeName {
  const char* name;
  at::ScalarType type;
};

constexpr DtypeName kDtypes[] = {
    {"F64", at::kDouble}, {"F32", at::kFloat}, {"F16", at::kHalf}, {"BF16", at::kBFloat16},
    {"I64", at::kLong},   {"I32", at::kInt},   {"I16", at::kShort}, {"I8", at::kChar},
    {"U8", at::kByte},    {"BOOL", at::kBool},
};

// Names the format defines that this build does not read: reported as
// Unsupported rather than as corruption.
constexpr const char* kKnownUnsupported[] = {"F8_E4M3", "F8_E5M2", "U16", "U32", "U64",
                                             "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2"};

}  // namespace

std::optional<at::ScalarType> safetensors_dtype(std::string_view name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return d.type;
  return std::nullopt;
}

const char* safetensors_dtype_name(at::ScalarType t) {
  for (const auto& d : kDtypes)
    if (t == d.type) return d.name;
  throw Unsupported(std::string("dtype ") + c10::toString(t) + " has no safetensors name");
}

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path)
    : mapping_(std::make_shared<MmapFile>(path)) {
  const std::string file = path.string();
  auto corrupt = [&](const std::string& what) { return CorruptData("safetensors file " + file + ": " + what); };
  const uint64_t size = mapping_->size();
  if (size < 8) throw corrupt("truncated: " + std::to_string(size) + " bytes, fewer than the 8-byte header length");
  uint64_t header_len = 0;
  std::memcpy(&header_len, mapping_->data(), 8);
  if (header_len > kMaxHeaderBytes)
    throw corrupt("header length " + std::to_string(header_len) + " exceeds the 100 MiB limit");
  if (header_len > size - 8)
    throw corrupt("header length " + std::to_string(header_len) + " runs past the end of the file (" +
                  std::to_string(size) + " bytes)");
  data_start_ = 8 + header_len;
  const uint64_t data_size = size - data_start_;

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(reinterpret_cast<const char*>(mapping_->data()) + 8,
                                   reinterpret_cast<const char*>(mapping_->data()) + data_start_);
  } catch (const nlohmann::json::exception& e) {
    throw corrupt(std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) throw corrupt("header is not a JSON object");

  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) throw corrupt("__metadata__ is not an object");
      for (const auto& [k, v] : value.items()) {
        if (!v.is_string()) throw corrupt("__metadata__ key '" + k + "' is not a string");
        metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    auto bad = [&](const std::string& what) { return corrupt("tensor '" + name + "': " + what); };
    if (!value.is_object()) throw bad("entry is not an object");
    auto dt = value.find("dtype");
    auto sh = value.find("shape");
    auto off = value.find("data_offsets");
    if (dt == value.end() || !dt->is_string()) throw bad("missing or non-string dtype");
    if (sh == value.end() || !sh->is_array()) throw bad("missing or non-array shape");
    if (off == value.end() || !off->is_array() || off->size() != 2) throw bad("data_offsets is not [begin, end]");

    SafetensorsEntry e;
    e.name = name;
    const std::string dtype_name = dt->get<std::string>();
    auto type = safetensors_dtype(dtype_name);
    if (!type) {
      for (const char* u : kKnownUnsupported)
        if (dtype_name == u)
          throw Unsupported("safetensors file " + file + ": tensor '" + name + "' has dtype " + dtype_name +
                            ", which this build does not read");
      throw bad("unknown dtype '" + dtype_name + "'");
    }
    e.dtype = *type;
    uint64_t numel = 1;
    for (const auto& d : *sh) {
      if (!d.is_number_unsigned()) throw bad("shape " + sh->dump() + " has a non-integer or negative dimension");
      uint64_t v = d.get<uint64_t>();
      if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          (v != 0 && numel > std::numeric_limits<uint64_t>::max() / v))
        throw bad("shape " + sh->dump() + " overflows");
      numel *= v;
      e.shape.push_back(static_cast<int64_t>(v));
    }
    for (const auto& o : *off)
      if (!o.is_number_unsigned()) throw bad("data_offsets " + off->dump() + " are not non-negative integers");
    e.begin = (*off)[0].get<uint64_t>();
    e.end = (*off)[1].get<uint64_t>();
    if (e.end < e.begin) throw bad("data_offsets " + off->dump() + " end before they begin");
    if (e.end > data_size)
      throw bad("data_offsets " + off->dump() + " run past the data region (" + std::to_string(data_size) +
                " bytes; file truncated?)");
    const uint64_t elem = c10::elementSize(e.dtype);
    if (numel > std::numeric_limits<uint64_t>::max() / elem || numel * elem != e.end - e.begin)
      throw bad("shape " + sh->dump() + " of " + dtype_name + " needs " + std::to_string(numel) + " x " +
                std::to_string(elem) + " bytes but data_offsets " + off->dump() + " span " +
                std::to_string(e.end - e.begin));
    entries_.emplace(name, std::move(e));
  }

  std::vector<const SafetensorsEntry*> by_offset;
  for (const auto& [_, e] : entries_)
    if (e.end > e.begin) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const SafetensorsEntry* a, const SafetensorsEntry* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i]->begin < by_offset[i - 1]->end)
      throw corrupt("tensor '" + by_offset[i]->name + "' overlaps tensor '" + by_offset[i - 1]->name + "'");
}

const SafetensorsEntry& SafetensorsFile::entry(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) throw NotFound("safetensors file " + path().string() + " has no tensor '" + name + "'");
  return it->second;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& [name, _] : entries_) out.push_back(name);
  return out;
}

at::Tensor SafetensorsFile::tensor(const std::string& name) const {
  const SafetensorsEntry& e = entry(name);
  auto options = at::TensorOptions().dtype(e.dtype).device(at::kCPU);
  if (e.end == e.begin) return at::empty(e.shape, options);
  uint8_t* p = mapping_->mutable_data() + data_start_ + e.begin;
  if (reinterpret_cast<uintptr_t>(p) % c10::elementSize(e.dtype) != 0) {
    // Writers that do not pad the header leave data unaligned; ATen kernels
    // assume natural alignment, so such tensors are copied.
    at::Tensor out = at::empty(e.shape, options);
    std::memcpy(out.data_ptr(), p, e.end - e.begin);
    return out;
  }
  std::shared_ptr<MmapFile> keep = mapping_;
  return at::from_blob(p, e.shape, [keep](void*) mutable { keep.reset(); }, options);
}

at::Tensor SafetensorsFile::tensor(const std::string& name, at::ScalarType dtype) const {
  at::Tensor t = tensor(name);
  return t.scalar_type() == dtype ? t : t.to(dtype);
}

}  // namespace cdb
