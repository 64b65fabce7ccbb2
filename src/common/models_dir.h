// Where the tiny default model (stories260K) and other model files for the
// demo, tests and benchmarks are found. The project ships stories260K in
// <source>/models so that a lone clone works; CDB_MODELS points elsewhere.
// Nothing here looks beside the checkout: a suite that passes here passes
// the same in a fresh clone.
#pragma once

#include <filesystem>

namespace cdb {

// $CDB_MODELS if set, else the shipped models/ folder of the source tree
// this binary was built from. Throws NotFound with instructions when
// neither exists (a binary copied away from its source tree, say).
std::filesystem::path models_dir();

// models_dir() / relative, checked to exist (NotFound names the full path
// and how to provide it).
std::filesystem::path model_file(const std::filesystem::path& relative);

}  // namespace cdb
