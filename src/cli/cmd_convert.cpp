// cartridge convert: write a model (llama2.c checkpoint or HF directory) as a
// self-contained Hugging Face directory: config.json, model.safetensors and,
// when given, its tokenizer. llama2.c's interleaved RoPE layout is permuted
// to HF's rotate-half so that the directory computes the same function.
#include <ATen/ATen.h>
#include <cxxopts.hpp>

#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "common/command_line.h"
#include "common/error.h"
#include "common/models_dir.h"
#include "engine/load_model.h"
#include "engine/model_locator.h"
#include "engine/model_writer.h"

namespace cdb::cli {
namespace {

namespace fs = std::filesystem;

// A path as given, else the same name in the models directory (also one
// folder down: stories260K.bin lives in stories260K/), else a Hugging Face
// repository id in the local cache (engine/model_locator.h).
fs::path resolve_model(const std::string& arg) {
  if (fs::exists(arg)) return arg;
  const fs::path rel(arg);
  if (rel.is_relative()) {
    const fs::path dir = models_dir();
    if (fs::exists(dir / rel)) return dir / rel;
    if (fs::exists(dir / rel.stem() / rel)) return dir / rel.stem() / rel;
  }
  if (is_hf_repo_id(arg)) return locate_model(arg);
  return model_file(rel);  // throws NotFound with instructions
}

// The name a tokenizer file takes inside a model directory, where
// `cartridge generate` and load_tokenizer look for it.
fs::path tokenizer_name(const fs::path& src) {
  const std::string ext = src.extension().string();
  if (ext == ".bin") return "tokenizer.bin";
  if (ext == ".model") return "tokenizer.model";
  if (src.filename() == "tokenizer.json" || src.filename() == "tokenizer_config.json") return src.filename();
  throw InvalidArgument("tokenizer " + src.string() +
                        ": expected a llama2.c .bin, a SentencePiece .model, tokenizer.json or a directory holding them");
}

void copy_tokenizer(const fs::path& src, const fs::path& out) {
  if (!fs::exists(src)) throw NotFound("tokenizer " + src.string() + " does not exist");
  std::vector<fs::path> files;
  if (fs::is_directory(src)) {
    for (const char* n : {"tokenizer.json", "tokenizer_config.json", "tokenizer.model", "tokenizer.bin"})
      if (fs::exists(src / n)) files.push_back(src / n);
    if (files.empty()) throw NotFound("tokenizer directory " + src.string() + " holds no tokenizer file");
  } else {
    files.push_back(src);
  }
  for (const fs::path& f : files) {
    const fs::path dst = out / tokenizer_name(f);
    std::error_code ec;
    fs::copy_file(f, dst, fs::copy_options::overwrite_existing, ec);
    if (ec) throw IoError("cannot copy " + f.string() + " to " + dst.string() + ": " + ec.message());
    std::printf("tokenizer: %s -> %s\n", f.string().c_str(), dst.string().c_str());
  }
}

}  // namespace

int cmd_convert(int argc, char** argv) {
  cxxopts::Options opts("cartridge convert",
                        "Write a model as a Hugging Face directory (config.json + model.safetensors [+ tokenizer])");
  opts.add_options()
      ("model", "llama2.c .bin checkpoint or HF directory (bare names are looked up in the models directory)",
       cxxopts::value<std::string>())
      ("out", "output directory (created; existing files in it are replaced)", cxxopts::value<std::string>())
      ("tokenizer", "tokenizer to copy into the directory (tok512.bin becomes tokenizer.bin)",
       cxxopts::value<std::string>())
      ("dtype", "weight dtype: f32, bf16 or f16", cxxopts::value<std::string>()->default_value("f32"))
      ("h,help", "this help");
  cxxopts::ParseResult args;
  if (auto status = parse_command_line(opts, argc, argv, args)) return *status;
  if (!args.count("model") || !args.count("out")) {
    std::fprintf(stderr, "cartridge convert: --model and --out are required\n%s", opts.help().c_str());
    return 2;
  }
  const std::string d = args["dtype"].as<std::string>();
  at::ScalarType dtype;
  if (d == "f32") dtype = at::kFloat;
  else if (d == "bf16") dtype = at::kBFloat16;
  else if (d == "f16") dtype = at::kHalf;
  else throw InvalidArgument("--dtype " + d + ": expected f32, bf16 or f16");

  const fs::path model_path = resolve_model(args["model"].as<std::string>());
  const fs::path out = args["out"].as<std::string>();
  LoadedModel model = load_model(model_path);
  const bool permuted = model.config.rope_style == RopeStyle::Interleaved;
  write_hf_model(model, out, dtype);
  std::printf("wrote %s (%s, %lld layers, %s%s) from %s\n", out.string().c_str(),
              model.config.arch == Arch::Llama ? "LlamaForCausalLM"
              : model.config.arch == Arch::Qwen2 ? "Qwen2ForCausalLM" : "Qwen3ForCausalLM",
              static_cast<long long>(model.config.n_layers), d.c_str(),
              permuted ? ", wq/wk permuted to rotate-half RoPE" : "", model_path.string().c_str());
  if (args.count("tokenizer")) copy_tokenizer(args["tokenizer"].as<std::string>(), out);
  return 0;
}

}  // namespace cdb::cli
