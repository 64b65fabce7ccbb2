#include "engine/load_model.h"

#include "common/error.h"
#include "engine/hf_model_loader.h"
#include "engine/llama2c_loader.h"

namespace cdb {

LoadedModel load_model(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw NotFound("model not found: " + path.string());
  if (std::filesystem::is_directory(path, ec)) return load_hf_model(path);
  return load_llama2c(path);
}

}  // namespace cdb
