#include "common/models_dir.h"

#include <cstdlib>

#include "common/error.h"

namespace cdb {

namespace fs = std::filesystem;

fs::path models_dir() {
  if (const char* env = std::getenv("CDB_MODELS"); env && *env) {
    if (!fs::is_directory(env))
      throw NotFound(std::string("CDB_MODELS=") + env + " is not a directory");
    return env;
  }
  const fs::path shipped(CDB_DEFAULT_MODELS_DIR);
  std::error_code ec;
  if (fs::is_directory(shipped, ec)) return fs::weakly_canonical(shipped, ec);
  throw NotFound("no models directory: the shipped one (" CDB_DEFAULT_MODELS_DIR
                 ") is gone; set CDB_MODELS=/path/to/models (a folder holding stories260K/stories260K.bin)");
}

fs::path model_file(const fs::path& relative) {
  fs::path p = models_dir() / relative;
  if (!fs::exists(p))
    throw NotFound("model file " + p.string() + " is missing; set CDB_MODELS to a directory holding " +
                   relative.string());
  return p;
}

}  // namespace cdb
