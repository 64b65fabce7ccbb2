// Where a --model argument points. One rule for every place that takes a
// model (cartridge generate/eval/convert/serve/shell/exec and the embedded
// library's OpenOptions::model_path):
//
//  1. an existing file or directory of that name always wins;
//  2. else a Hugging Face repository id, ORG/NAME, is read from the local
//     Hugging Face cache, never from the network: $HF_HUB_CACHE, then
//     $HF_HOME/hub, then ~/.cache/huggingface/hub, each at
//     models--ORG--NAME/snapshots/<revision>/, the revision named by
//     refs/main (or the only snapshot when refs/main is absent);
//  3. else NotFound, naming each place looked at and how to put a model there.
//
// Anything else (a path that does not exist and is not an ORG/NAME) is
// returned unchanged, for the loader to report as a missing file.
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

namespace cdb {

std::filesystem::path locate_model(std::string_view spec);

// Whether `spec` has the form of a Hugging Face repository id (ORG/NAME of
// letters, digits, '.', '_' and '-', neither part "." or "..").
bool is_hf_repo_id(std::string_view spec);

// The Hugging Face hub caches to search, in order (only those whose
// variables are set; ~ from $HOME).
std::vector<std::filesystem::path> hf_hub_caches();

}  // namespace cdb
