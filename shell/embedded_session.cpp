#include "shell/embedded_session.h"

#include <filesystem>

#include "common/error.h"
#include "common/models_dir.h"

namespace cdb::shell {

namespace fs = std::filesystem;

std::string resolve_model(const EmbeddedOptions& o) {
  if (!o.model.empty()) return o.model;
  std::error_code ec;
  // An existing data directory records its model at its first open.
  if (!o.catalog.empty() || fs::exists(fs::path(o.data_dir) / "catalog.sqlite", ec)) return "";
  try {
    return cdb::model_file("stories260K/stories260K.bin").string();
  } catch (const cdb::NotFound&) {
    throw cartridgedb::InvalidArgument(
        "no model for the new data directory " + o.data_dir +
        ": give one with --model (a llama2.c .bin file, a Hugging Face model directory, or ORG/NAME from "
        "the Hugging Face cache), or set CDB_MODELS to a directory holding stories260K/stories260K.bin");
  }
}

EmbeddedSession::EmbeddedSession(const EmbeddedOptions& o) {
  cartridgedb::OpenOptions open;
  open.model_path = resolve_model(o);
  open.tokenizer_path = o.tokenizer;
  open.device = o.device;
  open.start_workers = o.start_workers;
  open.catalog = o.catalog;
  db_ = cartridgedb::Database::open(o.data_dir, open);
  std::error_code ec;
  name_ = fs::weakly_canonical(fs::absolute(o.data_dir), ec).filename().string();
  if (name_.empty()) name_ = "cartridge";
}

cartridgedb::Result EmbeddedSession::run(std::string_view statement, const StatementEvents& events) {
  cartridgedb::Callbacks cb;
  cb.on_token = events.on_token;
  cb.on_progress = events.on_progress;
  cb.is_cancelled = events.is_cancelled;
  return db_->execute(statement, cb);
}

std::vector<std::string> EmbeddedSession::corpus_names() {
  const cartridgedb::Result r = db_->execute("SHOW CORPORA");
  std::vector<std::string> names;
  for (std::size_t i = 0; i < r.rows.size(); ++i) names.push_back(r.at(i, "corpus"));
  return names;
}

}  // namespace cdb::shell
