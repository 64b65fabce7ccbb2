#include "engine/safetensors_writer.h"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "engine/safetensors_file.h"

namespace cdb {

namespace fs = std::filesystem;

namespace {

uint64_t byte_size(const SafetensorsSpec& s) {
  uint64_t n = c10::elementSize(s.dtype);
  for (int64_t d : s.shape) n *= static_cast<uint64_t>(d);
  return n;
}

void fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: the file itself is already durable
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

SafetensorsWriter::SafetensorsWriter(fs::path path, std::vector<SafetensorsSpec> tensors,
                                     std::map<std::string, std::string> metadata)
    : path_(std::move(path)) {
  // Data is laid out by descending element size so that, with the header
  // padded to 8 bytes, every tensor starts naturally aligned and readers
  // can view it in place.
  std::vector<size_t> order(tensors.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return c10::elementSize(tensors[a].dtype) > c10::elementSize(tensors[b].dtype);
  });
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t data_bytes = 0;
  slots_.reserve(tensors.size());
  for (size_t i : order) {
    SafetensorsSpec& s = tensors[i];
    if (s.name.empty() || s.name == "__metadata__")
      throw InvalidArgument("safetensors file " + path_.string() + ": invalid tensor name '" + s.name + "'");
    for (int64_t d : s.shape)
      if (d < 0) throw InvalidArgument("safetensors file " + path_.string() + ": tensor '" + s.name + "' has a negative dimension");
    if (index_.count(s.name))
      throw InvalidArgument("safetensors file " + path_.string() + ": tensor '" + s.name + "' declared twice");
    Slot slot{s, 0, byte_size(s), 0};
    header[s.name] = {{"dtype", safetensors_dtype_name(s.dtype)},
                      {"shape", s.shape},
                      {"data_offsets", {data_bytes, data_bytes + slot.bytes}}};
    slot.offset = data_bytes;  // relative for now
    data_bytes += slot.bytes;
    index_[s.name] = slots_.size();
    slots_.push_back(std::move(slot));
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t data_start = 8 + text.size();
  for (Slot& s : slots_) s.offset += data_start;

  tmp_ = path_;
  tmp_ += ".tmp." + std::to_string(::getpid());
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw IoError("cannot create " + tmp_.string() + ": " + std::strerror(errno));
  if (::ftruncate(fd_, static_cast<off_t>(data_start + data_bytes)) != 0) {
    int err = errno;
    ::close(fd_);
    fd_ = -1;
    fs::remove(tmp_);
    throw IoError("cannot size " + tmp_.string() + ": " + std::strerror(err));
  }
  uint64_t len = text.size();
  pwrite_all(&len, 8, 0);  // little-endian host (checked in safetensors_file.cpp)
  pwrite_all(text.data(), text.size(), 8);
}

SafetensorsWriter::~SafetensorsWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) {
    std::error_code ec;
    fs::remove(tmp_, ec);
  }
}

SafetensorsWriter::Slot& SafetensorsWriter::slot(const std::string& name) {
  auto it = index_.find(name);
  if (it == index_.end())
    throw InvalidArgument("safetensors file " + path_.string() + ": tensor '" + name + "' was not declared");
  return slots_[it->second];
}

void SafetensorsWriter::pwrite_all(const void* data, uint64_t n, uint64_t offset) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::pwrite(fd_, p, n, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      throw IoError("cannot write " + tmp_.string() + ": " + std::strerror(errno));
    }
    p += w;
    n -= static_cast<uint64_t>(w);
    offset += static_cast<uint64_t>(w);
  }
}

void SafetensorsWriter::write(const std::string& name, const at::Tensor& t) {
  Slot& s = slot(name);
  if (t.sizes() != at::IntArrayRef(s.spec.shape))
    throw InvalidArgument("safetensors file " + path_.string() + ": tensor '" + name + "' has shape " +
                          c10::str(t.sizes()) + ", declared " + c10::str(at::IntArrayRef(s.spec.shape)));
  if (s.written != 0)
    throw InvalidArgument("safetensors file " + path_.string() + ": tensor '" + name + "' written twice");
  append(name, t);
}

void SafetensorsWriter::append(const std::string& name, const at::Tensor& part) {
  if (committed_) throw InvalidArgument("safetensors file " + path_.string() + " is already committed");
  Slot& s = slot(name);
  const auto& shape = s.spec.shape;
  bool ok = !shape.empty() && part.dim() == static_cast<int64_t>(shape.size());
  for (size_t d = 1; ok && d < shape.size(); ++d) ok = part.size(static_cast<int64_t>(d)) == shape[d];
  if (shape.empty()) ok = part.numel() == 1;  // a scalar is written whole
  if (!ok)
    throw InvalidArgument("safetensors file " + path_.string() + ": tensor '" + name + "': part of shape " +
                          c10::str(part.sizes()) + " does not fit declared " + c10::str(at::IntArrayRef(shape)));
  at::Tensor c = part.to(at::kCPU, s.spec.dtype).contiguous();
  const uint64_t n = static_cast<uint64_t>(c.numel()) * c10::elementSize(s.spec.dtype);
  if (s.written + n > s.bytes)
    throw InvalidArgument("safetensors file " + path_.string() + ": tensor '" + name + "': more rows than its declared " +
                          c10::str(at::IntArrayRef(shape)));
  pwrite_all(c.data_ptr(), n, s.offset + s.written);
  s.written += n;
}

void SafetensorsWriter::commit() {
  if (committed_) return;
  for (const Slot& s : slots_)
    if (s.written != s.bytes)
      throw InvalidArgument("safetensors file " + path_.string() + ": tensor '" + s.spec.name + "' has " +
                            std::to_string(s.written) + " of its " + std::to_string(s.bytes) + " bytes written");
  if (::fsync(fd_) != 0) throw IoError("cannot fsync " + tmp_.string() + ": " + std::strerror(errno));
  if (::close(fd_) != 0) {
    fd_ = -1;
    throw IoError("cannot close " + tmp_.string() + ": " + std::strerror(errno));
  }
  fd_ = -1;
  std::error_code ec;
  fs::rename(tmp_, path_, ec);
  if (ec) throw IoError("cannot rename " + tmp_.string() + " to " + path_.string() + ": " + ec.message());
  committed_ = true;
  fsync_dir(path_.parent_path());
}

void save_safetensors(const fs::path& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      std::map<std::string, std::string> metadata) {
  std::vector<SafetensorsSpec> specs;
  specs.reserve(tensors.size());
  for (const auto& [name, t] : tensors) specs.push_back({name, t.scalar_type(), t.sizes().vec()});
  SafetensorsWriter w(path, std::move(specs), std::move(metadata));
  for (const auto& [name, t] : tensors) w.write(name, t);
  w.commit();
}

}  // namespace cdb
