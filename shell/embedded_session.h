// A Session on a data directory opened in this process.
#pragma once

#include <memory>

#include "shell/session.h"

namespace cdb::shell {

struct EmbeddedOptions {
  std::string data_dir = "cartridge-data";
  std::string model, tokenizer;  // empty: see resolve_model
  std::string device = "cpu";
  bool start_workers = true;
  std::string catalog;  // OpenOptions::catalog: empty, or postgresql://user@host:port/db
};

// The model to open `data_dir` with: --model if given; none (the recorded
// one) when the directory already exists or the catalog is in PostgreSQL
// (which records the model: a default here could differ from it); else stories260K from the models
// directory when it is there. InvalidArgument saying how to give a model
// when there is none of these.
std::string resolve_model(const EmbeddedOptions& options);

class EmbeddedSession : public Session {
 public:
  explicit EmbeddedSession(const EmbeddedOptions& options);
  cartridgedb::Result run(std::string_view statement, const StatementEvents& events) override;
  std::vector<std::string> corpus_names() override;
  std::string name() const override { return name_; }

 private:
  std::unique_ptr<cartridgedb::Database> db_;
  std::string name_;
};

}  // namespace cdb::shell
