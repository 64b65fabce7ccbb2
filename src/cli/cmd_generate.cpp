// cartridge generate: run a model on a prompt, printing each token as it is
// produced. With a llama2.c checkpoint its output is byte for byte that of
// llama2.c's `run MODEL -z TOKENIZER -t T -p P -s SEED -n STEPS -i PROMPT`:
// the prompt is echoed, --steps counts positions including the BOS, a
// single-byte piece that is neither printable nor whitespace is skipped, and
// generation stops at a BOS token. llama2.c then prints "\n" and its speed;
// both go to stderr here, so that stdout is exactly the generated text.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <cxxopts.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include "cli/commands.h"
#include "common/command_line.h"
#include "common/error.h"
#include "engine/generator.h"
#include "engine/load_model.h"
#include "engine/model_locator.h"
#include "engine/tokenizer/tokenizer.h"

namespace cdb::cli {
namespace {

namespace fs = std::filesystem;

// The tokenizer beside a model: a model directory holds its own; beside a
// llama2.c checkpoint, tokenizer.bin, then tok*.bin, then tokenizer.model.
fs::path default_tokenizer(const fs::path& model) {
  if (fs::is_directory(model)) return model;
  const fs::path dir = model.parent_path().empty() ? fs::path(".") : model.parent_path();
  if (fs::exists(dir / "tokenizer.bin")) return dir / "tokenizer.bin";
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (e.path() != model && name.rfind("tok", 0) == 0 && e.path().extension() == ".bin") return e.path();
  }
  if (fs::exists(dir / "tokenizer.model")) return dir / "tokenizer.model";
  throw NotFound("no tokenizer found beside " + model.string() +
                 " (looked for tokenizer.bin, tok*.bin, tokenizer.model); pass --tokenizer");
}

}  // namespace

int cmd_generate(int argc, char** argv) {
  cxxopts::Options opts("cartridge generate", "Generate text from a prompt (llama2.c `run` compatible output)");
  opts.add_options()
      ("model", "model: llama2.c .bin checkpoint or Hugging Face directory", cxxopts::value<std::string>())
      ("tokenizer", "tokenizer file or directory (default: beside the model)", cxxopts::value<std::string>())
      ("prompt", "prompt text", cxxopts::value<std::string>()->default_value(""))
      ("temperature", "0 = greedy", cxxopts::value<float>()->default_value("1.0"))
      ("topp", "top-p (nucleus) sampling; 1 = off", cxxopts::value<float>()->default_value("0.9"))
      ("topk", "top-k sampling; 0 = off", cxxopts::value<int64_t>()->default_value("0"))
      ("steps", "positions to run, BOS included (llama2.c -n); 0 = the model's context", cxxopts::value<int64_t>()->default_value("256"))
      ("seed", "random seed (default: the time)", cxxopts::value<uint64_t>())
      ("h,help", "this help");
  cxxopts::ParseResult args;
  if (auto status = parse_command_line(opts, argc, argv, args)) return *status;
  if (!args.count("model")) {
    std::fprintf(stderr, "cartridge generate: --model is required\n%s", opts.help().c_str());
    return 2;
  }
  const fs::path model_path = locate_model(args["model"].as<std::string>());
  Transformer model(load_model(model_path));
  const fs::path tok_path =
      args.count("tokenizer") ? fs::path(args["tokenizer"].as<std::string>()) : default_tokenizer(model_path);
  auto tokenizer = load_tokenizer(tok_path);
  const ModelConfig& c = model.config();
  if (tokenizer->vocab_size() > c.vocab_size)
    throw InvalidArgument("tokenizer " + tok_path.string() + " has " + std::to_string(tokenizer->vocab_size()) +
                          " tokens, more than the model's " + std::to_string(c.vocab_size));

  int64_t steps = args["steps"].as<int64_t>();
  if (steps <= 0 || steps > c.max_seq_len) steps = c.max_seq_len;
  GenerateOptions options;
  options.sampling.temperature = args["temperature"].as<float>();
  options.sampling.top_p = args["topp"].as<float>();
  options.sampling.top_k = args["topk"].as<int64_t>();
  options.sampling.seed =
      args.count("seed") ? args["seed"].as<uint64_t>() : static_cast<uint64_t>(std::time(nullptr));
  const bool llama2c = !fs::is_directory(model_path);
  if (llama2c) {  // llama2.c's run loop ends on BOS only
    options.stop_at_eos = false;
    options.stop_tokens = {static_cast<int32_t>(c.bos_id)};
  }

  std::vector<int32_t> prompt = tokenizer->encode(args["prompt"].as<std::string>(), /*add_bos=*/true);
  if (prompt.empty()) throw InvalidArgument("the prompt encodes to no tokens and the tokenizer has no BOS");
  auto print = [](std::string_view piece) {
    if (is_printable_piece(piece)) std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
  };
  // Echo the prompt, as llama2.c does (positions 1.. of the prompt, at most `steps`).
  const int64_t echoed = std::min<int64_t>(static_cast<int64_t>(prompt.size()) - 1, steps);
  for (int64_t i = 1; i <= echoed; ++i)
    print(tokenizer->token_bytes(prompt[static_cast<size_t>(i)], prompt[static_cast<size_t>(i - 1)]));
  options.max_tokens = steps - echoed;

  const auto start = std::chrono::steady_clock::now();
  int64_t generated = 0;
  generate(model, *tokenizer, prompt, nullptr, options, [&](size_t, int32_t id, std::string_view text) {
    if (id >= 0) ++generated;
    print(text);
  });
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "\nachieved tok/s: %f (%lld tokens, %.3f s, prompt %zu tokens)\n",
               secs > 0 ? static_cast<double>(generated) / secs : 0.0, static_cast<long long>(generated), secs,
               prompt.size());
  return 0;
}

}  // namespace cdb::cli
