// cartridge eval: trains and scores a corpus's Cartridges against the
// baselines (self-study, next-token prediction, truncation, ICL, no context)
// on a probes file. Human-readable table by default; --json prints one JSON
// object (the EvalReport) as the last line.
#include <cxxopts.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "common/error.h"
#include "engine/load_model.h"
#include "engine/model_locator.h"
#include "engine/tokenizer/chat_format.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/transformer.h"
#include "storage/artifact_store.h"
#include "train/composition_eval.h"
#include "train/evaluator.h"

namespace cdb::cli {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw NotFound("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void print_table(const EvalReport& r) {
  std::printf("corpus %lld tokens; ICL holds %lld%s; probes %lld tokens; held-out %lld tokens\n",
              static_cast<long long>(r.corpus_tokens), static_cast<long long>(r.icl_tokens),
              r.icl_whole_corpus ? " (all of it)" : " (truncated: the corpus is longer than the window)",
              static_cast<long long>(r.probe_tokens), static_cast<long long>(r.heldout_tokens));
  std::printf("%-11s %6s %10s %9s %9s %8s %10s %10s %8s\n", "mode", "tokens", "bytes", "LL/tok", "gain", "MC acc",
              "KL(icl||m)", "general LL", "train s");
  for (const auto& m : r.modes) {
    std::printf("%-11s %6lld %10lld %9.4f %9.3f %8s %10.4f %10.4f %8.1f\n", eval_mode_name(m.mode),
                static_cast<long long>(m.cartridge_tokens), static_cast<long long>(m.cartridge_bytes),
                m.ll_per_token, m.gain_recovered,
                m.mc_accuracy < 0 ? "-" : std::to_string(m.mc_accuracy).substr(0, 5).c_str(), m.heldout_kl,
                m.general_ll, m.train_wall_s);
  }
  if (r.synthesis_wall_s > 0)
    std::printf("self-study synthesis: %lld tokens in %.1f s\n", static_cast<long long>(r.synthesized_tokens),
                r.synthesis_wall_s);
}

}  // namespace

int cmd_eval(int argc, char** argv) {
  cxxopts::Options opts("cartridge eval", "Train and score Cartridges of a corpus against the baselines");
  opts.add_options()
      ("model", "model file or directory", cxxopts::value<std::string>())
      ("tokenizer", "tokenizer file (default: beside the model)", cxxopts::value<std::string>())
      ("corpus", "corpus text file", cxxopts::value<std::string>())
      ("probes", "probes JSONL: {prompt, continuation} or {prompt, choices, answer}", cxxopts::value<std::string>())
      ("tokens", "Cartridge size p", cxxopts::value<int64_t>()->default_value("32"))
      ("steps", "training steps (selfstudy, ntp)", cxxopts::value<int64_t>()->default_value("100"))
      ("mode", "selfstudy|ntp|truncation|icl|none|all, or a comma list", cxxopts::value<std::string>()->default_value("all"))
      ("seed", "seed of synthesis, data order and held-out text", cxxopts::value<uint64_t>()->default_value("0"))
      ("lr", "Adam learning rate", cxxopts::value<double>()->default_value("0.02"))
      ("batch", "sequences per micro-batch", cxxopts::value<int64_t>()->default_value("16"))
      ("grad-accum", "micro-batches per step", cxxopts::value<int64_t>()->default_value("1"))
      ("conversations", "synthesized conversations", cxxopts::value<int64_t>()->default_value("96"))
      ("conversations-per-chunk", "conversations sampled from each prefilled chunk", cxxopts::value<int64_t>()->default_value("4"))
      ("synthesis-batch", "conversations in the engine at once during synthesis", cxxopts::value<int64_t>()->default_value("16"))
      ("max-tokens", "speaker B's max tokens (the answer / continuation)", cxxopts::value<int64_t>()->default_value("64"))
      ("temperature", "speaker B's temperature (0: greedy)", cxxopts::value<double>()->default_value("0.7"))
      ("description", "corpus description placed before each chunk", cxxopts::value<std::string>()->default_value(""))
      ("general", "unrelated text file for 'general ability retained'", cxxopts::value<std::string>())
      ("store", "store directory: keeps the synthesized data and checkpoints (resumable)", cxxopts::value<std::string>())
      ("compose", "measure composition instead: score the probes with this corpus's Cartridge composed with "
                  "the other corpus's (both orders) against the baselines", cxxopts::value<std::string>())
      ("json", "print the report as one JSON object")
      ("h,help", "this help");
  auto a = opts.parse(argc, argv);
  if (a.count("help")) {
    std::printf("%s\n", opts.help().c_str());
    return 0;
  }
  for (const char* req : {"model", "corpus", "probes"})
    if (!a.count(req)) {
      std::fprintf(stderr, "cartridge eval: --%s is required\n%s\n", req, opts.help().c_str());
      return 2;
    }
  const std::string model_path = locate_model(a["model"].as<std::string>()).string();
  auto tokenizer = load_tokenizer(a.count("tokenizer") ? a["tokenizer"].as<std::string>() : model_path);
  Transformer model(load_model(model_path));
  const std::string corpus = slurp(a["corpus"].as<std::string>());
  auto probes = load_probes(a["probes"].as<std::string>());

  EvalOptions o;
  o.modes = parse_eval_modes(a["mode"].as<std::string>());
  o.cartridge_tokens = a["tokens"].as<int64_t>();
  o.seed = a["seed"].as<uint64_t>();
  o.synthesis.format = detect_chat_format(model_path);
  o.synthesis.conversations = a["conversations"].as<int64_t>();
  o.synthesis.conversations_per_chunk = a["conversations-per-chunk"].as<int64_t>();
  o.synthesis.batch_size = a["synthesis-batch"].as<int64_t>();
  o.synthesis.b_max_tokens = a["max-tokens"].as<int64_t>();
  o.synthesis.b_temperature = a["temperature"].as<double>();
  o.synthesis.corpus_description = a["description"].as<std::string>();
  o.synthesis.seed = o.seed;
  o.train.steps = a["steps"].as<int64_t>();
  o.train.adam.lr = a["lr"].as<double>();
  o.train.batch_size = a["batch"].as<int64_t>();
  o.train.grad_accum = a["grad-accum"].as<int64_t>();
  o.train.seed = o.seed;
  o.train.checkpoint_every = 25;
  if (a.count("general")) o.general_text = slurp(a["general"].as<std::string>());
  const bool json = a.count("json") > 0;
  o.progress = [&](const TrainProgress& p) {
    if (p.step % 10 == 0 || p.step == p.total_steps)
      std::fprintf(stderr, "\rtraining step %lld/%lld  loss %.4f  %.0f tok/s  ETA %.0f s   ",
                   static_cast<long long>(p.step), static_cast<long long>(p.total_steps), p.loss, p.tokens_per_s,
                   p.eta_s);
    if (p.step == p.total_steps) std::fprintf(stderr, "\n");
    return true;
  };
  if (a.count("compose")) {
    const CompositionReport c =
        evaluate_composition(model, *tokenizer, corpus, slurp(a["compose"].as<std::string>()), probes, o);
    if (json) {
      std::printf("%s\n", c.to_json().c_str());
      return 0;
    }
    std::printf("corpus A %lld tokens, B %lld tokens; ICL of A and B together %s the window\n",
                static_cast<long long>(c.corpus_a_tokens), static_cast<long long>(c.corpus_b_tokens),
                c.icl_ab_fits ? "fits" : "does not fit");
    std::printf("%-11s %6s %9s %9s %8s\n", "row", "tokens", "LL/tok", "gain", "MC acc");
    for (const auto& row : c.rows)
      std::printf("%-11s %6lld %9.4f %9.3f %8s\n", row.name.c_str(), static_cast<long long>(row.cartridge_tokens),
                  row.ll_per_token, row.gain_recovered,
                  row.mc_accuracy < 0 ? "-" : std::to_string(row.mc_accuracy).substr(0, 5).c_str());
    return 0;
  }
  // Catalogued artifacts, not raw blobs: the store's open-time garbage
  // collection deletes blobs that no catalog row references.
  std::unique_ptr<Store> store;
  std::unique_ptr<StoreArtifacts> artifacts;
  if (a.count("store")) {
    store = std::make_unique<Store>(a["store"].as<std::string>());
    artifacts = std::make_unique<StoreArtifacts>(*store);
    o.store = artifacts.get();
  }
  EvalReport r = evaluate(model, *tokenizer, corpus, probes, o);
  if (json) {
    std::printf("%s\n", r.to_json().c_str());
  } else {
    print_table(r);
  }
  return 0;
}

}  // namespace cdb::cli
