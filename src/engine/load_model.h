// One entry point for every model format: a file is a llama2.c checkpoint, a
// directory a Hugging Face model (config.json + safetensors).
#pragma once

#include <filesystem>

#include "engine/model_weights.h"

namespace cdb {

LoadedModel load_model(const std::filesystem::path& path);

}  // namespace cdb
