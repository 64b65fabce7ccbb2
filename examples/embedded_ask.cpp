// embedded_ask: cartridgedb as a library, through its one public header.
//
//   embedded_ask DATA_DIR [MODELS_DIR]
//
// Opens (recreating) DATA_DIR with stories260K, makes a corpus of two short
// stories, asks about it in context, trains a small Cartridge for it in the
// background while waiting with a progress line, and asks again with the
// Cartridge, printing the plan and streaming each answer. MODELS_DIR
// defaults to $CDB_MODELS, then the models/ folder the project ships.
// Exits 1 with the error's message on any failure; CI runs it as a test.
#include <cartridgedb/cartridgedb.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace fs = std::filesystem;

namespace {

void print(const cartridgedb::Result& r) {
  for (size_t c = 0; c < r.columns.size(); ++c) std::printf("%s%s", c ? " | " : "", r.columns[c].c_str());
  std::printf("\n");
  for (const auto& row : r.rows) {
    for (size_t c = 0; c < row.size(); ++c) std::printf("%s%s", c ? " | " : "", row[c].c_str());
    std::printf("\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: embedded_ask DATA_DIR [MODELS_DIR]\n");
    return 2;
  }
  const fs::path dir = argv[1];
  fs::path models = argc > 2 ? fs::path(argv[2])
                    : std::getenv("CDB_MODELS") ? fs::path(std::getenv("CDB_MODELS"))
                                                : fs::path(CDB_EXAMPLE_MODELS_DIR);
  const fs::path model = models / "stories260K" / "stories260K.bin";
  if (!fs::exists(model)) {
    std::fprintf(stderr, "embedded_ask: %s not found; pass the models directory or set CDB_MODELS\n", model.c_str());
    return 1;
  }
  fs::remove_all(dir);
  try {
    cartridgedb::OpenOptions options;
    options.model_path = model.string();
    options.tokenizer_path = (models / "stories260K" / "tok512.bin").string();
    auto db = cartridgedb::Database::open(dir.string(), options);
    std::printf("model %s\n", db->model_fingerprint().c_str());

    db->execute_script(R"(
      CREATE CORPUS garden WITH (description = 'Stories about Pip and Lola', cartridge_tokens = 16);
      ADD DOCUMENT 'Pip was a small frog who lived by the big pond. Every day Pip jumped on the green leaves and sang a song.' AS 'pip.txt' TO garden;
      ADD DOCUMENT 'Lola was a kind bird. She had a red hat. Lola and Pip played in the garden and shared a big red apple.' AS 'lola.txt' TO garden;
    )");

    size_t pieces = 0;
    cartridgedb::Callbacks stream;
    stream.on_token = [&](std::string_view t) {
      ++pieces;
      std::fwrite(t.data(), 1, t.size(), stdout);
      std::fflush(stdout);
    };
    stream.on_progress = [](const cartridgedb::Progress& p) {
      std::fprintf(stderr, "\rjob %lld %-12s %3.0f%% step %lld/%lld loss %.3f   ", static_cast<long long>(p.job),
                   p.phase.empty() ? p.state.c_str() : p.phase.c_str(), 100 * p.fraction,
                   static_cast<long long>(p.step), static_cast<long long>(p.total_steps),
                   std::isfinite(p.loss) ? p.loss : 0.0);
    };

    // No Cartridge yet: the plan falls back to the corpus in context.
    print(db->execute("EXPLAIN ASK 'Pip was a' USING garden"));
    std::printf("ICL answer: ");
    auto icl = db->execute("ASK 'Pip was a' USING garden WITH (max_tokens = 24)", stream);
    std::printf("\n");
    if (pieces == 0 || icl.text.empty()) throw cartridgedb::Error(cartridgedb::ErrorKind::Internal, "no streamed answer");

    // A Cartridge, trained in the background; WAIT reports progress.
    auto job = db->execute("TRAIN CARTRIDGE FOR garden WITH (steps = 6, conversations = 8, batch_size = 4) WAIT", stream);
    std::fprintf(stderr, "\n");
    print(job);
    print(db->execute("EXPLAIN ASK 'Pip was a' USING garden"));
    std::printf("Cartridge answer: ");
    pieces = 0;
    auto cart = db->execute("ASK 'Pip was a' USING garden WITH (max_tokens = 24)", stream);
    std::printf("\n");
    if (pieces == 0 || cart.at(0, "sources").find("cartridge") == std::string::npos)
      throw cartridgedb::Error(cartridgedb::ErrorKind::Internal, "the answer did not use the Cartridge");

    // Errors are typed and positioned.
    try {
      db->execute("ASK 'x' USING garden WITH (max_tokens = 'many')");
    } catch (const cartridgedb::ParseError& e) {
      std::printf("as expected: %s\n%s\n", e.what(), e.excerpt().c_str());
    }
  } catch (const cartridgedb::Error& e) {
    std::fprintf(stderr, "\nembedded_ask: %s\n", e.what());
    return 1;
  }
  return 0;
}
