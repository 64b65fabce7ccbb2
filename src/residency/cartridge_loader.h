// CartridgeLoader: assembles a Cartridge (one part, or several concatenated
// along tokens in the order given) on the target device from the nearest
// copy of each part: already on the device, decompressed on the host, or
// compressed in the Store.
//
// The output tensors are allocated once at their final size; each part is
// written into its token slice, so a composition never holds its parts and
// the result twice on the device.
//
// From disk, on CPU, a tensor decompresses straight into its final place
// when that slice is contiguous (always for one part; for a composition when
// kv_heads is 1), else into a temporary that is copied into the slice.
// On CUDA each tensor decompresses into pinned host memory and is copied to
// the device with a non-blocking copy on a side stream: the copy returns at
// once, so the DMA of tensor i runs while the CPU decompresses tensor i+1
// (decompression of the next chunk overlaps the copy of the last) without a
// second thread. The outputs are allocated on the caller's current stream
// (the side stream first waits for it); the side stream is synchronized
// before load() returns, so the result is usable on any stream. The pinned buffers of parts read from disk can be returned to
// the caller for its host tier.
#pragma once

#include <c10/core/Device.h>

#include <memory>
#include <vector>

#include "engine/cartridge.h"
#include "residency/cartridge_layout.h"
#include "residency/cartridge_source.h"
#include "storage/store.h"

namespace cdb {

class CartridgeLoader : public CartridgeSource {
 public:
  // Unsupported for a CUDA device in a build without CUDA.
  CartridgeLoader(Store& store, at::Device device);

  // `sources` in composition order, matching layout.part_tokens.
  // keep_host_copies: return the (pinned) host buffers of parts read from
  // disk in from_disk; only meaningful on CUDA (on CPU the result is the
  // host copy), ignored there.
  LoadedCartridge load(const CartridgeLayout& layout, const std::vector<LoadSource>& sources,
                       bool keep_host_copies) const override;

  // The Store's catalog row.
  std::optional<CartridgeRow> row(int64_t cartridge_id) const override;

 private:
  Store& store_;
  at::Device device_;
};

}  // namespace cdb
