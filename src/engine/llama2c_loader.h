// Loads llama2.c checkpoints: the legacy format (7 x int32 header, then fp32
// weights in run.c order) and the 'ak42' version-1 format (256-byte header,
// norms first). The file is memory-mapped and the weights are views into it
// (no copy); LoadedModel.weights.backing keeps the mapping alive.
#pragma once

#include <filesystem>

#include "engine/model_weights.h"

namespace cdb {

// Throws NotFound (no such file), CorruptData (truncated file, impossible
// header), Unsupported (a quantized version-2 file), IoError (open/mmap).
LoadedModel load_llama2c(const std::filesystem::path& path);

}  // namespace cdb
