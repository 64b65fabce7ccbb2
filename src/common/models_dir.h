// Where model files for tests, demos and benchmarks are found. They are never
// part of the project: they live in ../shared/models beside the checkout, or
// wherever CDB_MODELS points.
#pragma once

#include <filesystem>

namespace cdb {

// The models directory: $CDB_MODELS if set, else the build's default
// (<source>/../shared/models), else ./../shared/models. Throws NotFound with
// instructions when none exists.
std::filesystem::path models_dir();

// models_dir() / relative, checked to exist (NotFound names the full path
// and how to provide it).
std::filesystem::path model_file(const std::filesystem::path& relative);

}  // namespace cdb
