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
  for (const fs::path& p : {fs::path(CDB_DEFAULT_MODELS_DIR), fs::path("../shared/models")}) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) return fs::weakly_canonical(p, ec);
  }
  throw NotFound(
      "no models directory: expected ../shared/models beside the project checkout "
      "(" CDB_DEFAULT_MODELS_DIR "); set CDB_MODELS=/path/to/models to point elsewhere");
}

fs::path model_file(const fs::path& relative) {
  fs::path p = models_dir() / relative;
  if (!fs::exists(p))
    throw NotFound("model file " + p.string() + " is missing; set CDB_MODELS to a directory holding " +
                   relative.string());
  return p;
}

}  // namespace cdb
