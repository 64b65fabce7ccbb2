// A SentencePiece model of the tests' own, trained by Debian's spm_train
// (package sentencepiece) once per test process, and spm_encode as the
// independent reference for its token ids. The Llama 2 tokenizer.model is
// Meta's and is not shipped (models/stories260K/README.md); this model has
// the same conventions: BPE, byte fallback (<0x00>..<0xFF> at ids 3..258),
// unk 0, BOS 1, EOS 2, a dummy "▁" prefix and no normalization.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "support/shell_quote.h"
#include "support/temp_dir.h"

namespace cdb::test {

inline constexpr int kSentencePieceVocab = 400;

inline const std::filesystem::path& trained_sentencepiece_model() {
  static const auto dir = std::make_unique<TempDir>("spm");
  static const std::filesystem::path model = [] {
    const auto corpus = dir->path() / "corpus.txt";
    std::ofstream(corpus) << "Hello world. The world says hello back to the small world.\n"
                             "The quick brown fox jumps over the lazy dog, and the dog sleeps.\n"
                             "Once upon a time there was a little girl named Lily who loved the sun.\n"
                             "She played in the garden with her friend Tom, and they were happy.\n"
                             "int x = 42; return x + 1; numbers like 3.14159 and 1,000,000 appear.\n"
                             "Tokens beside tensors: every word is split into pieces.\n";
    const std::string cmd = "spm_train --input=" + shell_quote(corpus.string()) + " --model_prefix=" +
                            shell_quote((dir->path() / "test").string()) + " --model_type=bpe --vocab_size=" +
                            std::to_string(kSentencePieceVocab) +
                            " --byte_fallback=true --character_coverage=1.0 --num_threads=1"
                            " --normalization_rule_name=identity --split_digits=true --minloglevel=2 >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0)
      ADD_FAILURE() << "spm_train failed (Debian package sentencepiece; ./cartridgedb.sh install adds it): " << cmd;
    return dir->path() / "test.model";
  }();
  return model;
}

// What Debian's spm_encode makes of one line of text.
inline std::vector<int32_t> spm_encode_ids(const std::filesystem::path& model, const std::string& line) {
  const std::string cmd =
      "printf '%s\\n' " + shell_quote(line) + " | spm_encode --output_format=id --model=" + shell_quote(model.string());
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  std::string out;
  char buf[4096];
  size_t n;
  while (pipe && (n = fread(buf, 1, sizeof buf, pipe.get())) > 0) out.append(buf, n);
  std::vector<int32_t> ids;
  std::istringstream in(out);
  for (int32_t id; in >> id;) ids.push_back(id);
  return ids;
}

}  // namespace cdb::test
