#include "residency/cartridge_loader.h"

#include <ATen/ATen.h>

#include <chrono>
#include <optional>
#include <string>

#include "common/error.h"

#ifdef CDB_WITH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace cdb {

CartridgeLoader::CartridgeLoader(Store& store, at::Device device) : store_(store), device_(device) {
#ifndef CDB_WITH_CUDA
  if (device.is_cuda()) throw Unsupported("cartridge loader: " + device.str() + " needs a CUDA build");
#endif
}

std::optional<CartridgeRow> CartridgeLoader::row(int64_t cartridge_id) const {
  return store_.catalog().cartridge(cartridge_id);
}

LoadedCartridge CartridgeLoader::load(const CartridgeLayout& layout, const std::vector<LoadSource>& sources,
                                      bool keep_host_copies) const {
  if (sources.size() != layout.part_tokens.size())
    throw InvalidArgument("cartridge loader: " + std::to_string(sources.size()) + " sources for a layout of " +
                          std::to_string(layout.part_tokens.size()) + " parts");
  const auto start = std::chrono::steady_clock::now();
  const bool cuda = device_.is_cuda();
  keep_host_copies = keep_host_copies && cuda;

  // The outputs are allocated on the caller's current stream, not on the
  // copy stream: the caching allocator then recycles them in the order of
  // the stream the queries use (see residency_manager.h on releasing refs).
  LoadedCartridge out;
  out.from_disk.resize(sources.size());
  const auto device_options = at::TensorOptions().dtype(layout.resident_dtype).device(device_);
  const bool same_dtype = layout.resident_dtype == layout.dtype;
  for (int64_t l = 0; l < layout.layers; ++l) {
    out.cartridge.keys.push_back(at::empty({layout.kv_heads, layout.tokens(), layout.head_dim}, device_options));
    out.cartridge.values.push_back(at::empty({layout.kv_heads, layout.tokens(), layout.head_dim}, device_options));
  }

#ifdef CDB_WITH_CUDA
  // The copies run on a side stream so that they neither wait for nor hold
  // up queries on the current stream, after the work already queued there
  // (which may still be using the memory just allocated).
  std::optional<c10::cuda::CUDAStreamGuard> stream_guard;
  if (cuda) {
    at::cuda::CUDAEvent allocated;
    allocated.record(c10::cuda::getCurrentCUDAStream(device_.index()));
    c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool(false, device_.index());
    allocated.block(side);
    stream_guard.emplace(side);
  }
#endif

  // Pinned buffers must outlive their in-flight copies: held until the
  // stream is synchronized below.
  std::vector<at::Tensor> staging;
  const auto host_options = at::TensorOptions().dtype(layout.dtype).pinned_memory(cuda);

  // On an error, copies may still be reading the staging buffers: wait for
  // them before the buffers are freed.
  const auto wait_for_copies = [&] {
#ifdef CDB_WITH_CUDA
    if (stream_guard) stream_guard->current_stream().synchronize();
#endif
  };
  try {
    int64_t offset = 0;
    for (size_t i = 0; i < sources.size(); ++i) {
      const LoadSource& src = sources[i];
      const int64_t p = layout.part_tokens[i];
      const int64_t tensor_bytes =
          layout.kv_heads * p * layout.head_dim * static_cast<int64_t>(c10::elementSize(layout.dtype));
      std::shared_ptr<Cartridge> host_copy = keep_host_copies ? std::make_shared<Cartridge>() : nullptr;
      for (int64_t l = 0; l < layout.layers; ++l) {
        for (bool keys : {true, false}) {
          at::Tensor dst = (keys ? out.cartridge.keys : out.cartridge.values)[l].narrow(1, offset, p);
          if (src.device != nullptr || src.host != nullptr) {
            const Cartridge& from = src.device != nullptr ? *src.device : *src.host;
            dst.copy_((keys ? from.keys : from.values)[l], /*non_blocking=*/cuda);
            if (src.device == nullptr) out.host_bytes += tensor_bytes;
            continue;
          }
          const std::string name = cartridge_tensor_name(l, keys);
          out.disk_bytes += tensor_bytes;
          if (!cuda && same_dtype && dst.is_contiguous()) {
            store_.read_cartridge_tensor_into(src.row->id, name, dst.data_ptr(), static_cast<size_t>(tensor_bytes));
            continue;
          }
          at::Tensor buffer = at::empty({layout.kv_heads, p, layout.head_dim}, host_options);
          store_.read_cartridge_tensor_into(src.row->id, name, buffer.data_ptr(), static_cast<size_t>(tensor_bytes));
          dst.copy_(buffer, /*non_blocking=*/cuda);
          if (cuda) staging.push_back(buffer);
          if (host_copy) (keys ? host_copy->keys : host_copy->values).push_back(buffer);
        }
      }
      if (host_copy && !host_copy->keys.empty()) out.from_disk[i] = std::move(host_copy);
      offset += p;
    }
  } catch (...) {
    wait_for_copies();
    throw;
  }
  wait_for_copies();
  staging.clear();
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace cdb
