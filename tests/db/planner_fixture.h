// Shared by the planner tests: a fresh data directory with stories260K, and
// helpers to run statements and to store a real (untrained) Cartridge
// without a training run, so that planner choices are tested in
// milliseconds.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/models_dir.h"
#include "engine/cartridge_store.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/transformer.h"
#include "db/database.h"
#include "db/executor.h"
#include "language/parse_error.h"
#include "language/parser.h"
#include "storage/store.h"
#include "support/temp_dir.h"

namespace cdb::test {

inline DatabaseOptions stories_options(bool workers = true) {
  DatabaseOptions o;
  o.model_path = model_file("stories260K/stories260K.bin");
  o.tokenizer_path = model_file("stories260K/tok512.bin");
  o.start_workers = workers;
  return o;
}

// Short TinyStories-like texts (a few dozen tokens each).
inline const char* kPipText = "Pip was a small green frog. Pip lived by the big pond and liked to jump.";
inline const char* kLolaText = "Lola was a kind bird with a red hat. Lola sang a song for her friend Max.";

// Creates the corpora pip and lola, one short document each.
inline std::string pip_and_lola_script() {
  return "CREATE CORPUS pip; CREATE CORPUS lola;"
         "ADD DOCUMENT '" + std::string(kPipText) + "' AS 'pip.txt' TO pip;"
         "ADD DOCUMENT '" + std::string(kLolaText) + "' AS 'lola.txt' TO lola;";
}

struct Session {
  std::unique_ptr<Database> db;
  std::unique_ptr<Executor> exec;

  Session(const std::filesystem::path& dir, const DatabaseOptions& o)
      : db(std::make_unique<Database>(dir, o)), exec(std::make_unique<Executor>(*db)) {}

  QueryResult run(const std::string& statement, const ExecCallbacks& cb = {}) {
    return exec->execute(lang::parse_statement(statement), cb);
  }
  void script(const std::string& s) { exec->execute_script(s); }

  int64_t corpus_id(const std::string& name) { return db->store().catalog().corpus(name).id; }

  // A real Cartridge (the prefill KV of the corpus's first tokens) stored as
  // a ready version, as a training job would commit it.
  CartridgeRow store_cartridge(const std::string& corpus, int64_t p, const std::string& fingerprint = {}) {
    const CorpusRow c = db->store().catalog().corpus(corpus);
    auto v = db->store().catalog().latest_version(c.id);
    std::string text = db->planner().corpus_text(c.id);
    std::vector<int32_t> toks = db->tokenizer().encode(text, true);
    toks.resize(static_cast<size_t>(p));
    Cartridge cart = db->model().prefill_cartridge(toks);
    CartridgeRow meta;
    meta.corpus_id = c.id;
    meta.corpus_version = v ? v->version : 1;
    meta.model_fingerprint = fingerprint.empty() ? db->model_fingerprint() : fingerprint;
    meta.metrics = "{}";
    return save_cartridge(db->store(), meta, cart);
  }
};

}  // namespace cdb::test
