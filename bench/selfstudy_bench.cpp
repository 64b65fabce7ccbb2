// selfstudy_bench: Cartridges of stories260K (CPU) trained by self-study
// against next-token prediction and truncation, with ICL and no context as
// the references, for a corpus that fits the 512-token window and one about
// 4x longer (which ICL sees only the start of). Sweeps the Cartridge size p
// and, at p = 32, the number of training steps.
//
// The corpora are generated: short TinyStories-style stories about invented
// characters (name, pet, pet's name, colour, town, number), and probes about
// each fact phrased differently from the story. Facts are spread over the
// whole corpus, so on the long one ICL can answer only the first quarter.
// The pet-name probes are also multiple choice (the right name against three
// other pets' names from the same corpus).
//
// Quality against training steps comes from the same runs: the trained
// Cartridges are also scored at --curve steps (Adam's rate is constant and
// the data order depends only on (seed, step), so step 30 of a 120-step run
// is a 30-step run). The synthesized conversations are kept in a store
// (--store, default a temporary one), so each corpus is synthesized once.
//
//   selfstudy_bench [--quick] [--sizes 16,32,64,128] [--steps 120] [--curve 30,60] [--json]
//
// With --cost it measures instead what a Cartridge costs to make, split into
// synthesis (the teacher is read in the same pass), training, and a
// reference decode of the same engine at the same batch and context:
//
//   selfstudy_bench --cost [--shape stories260K|llama-3.2-1b|...] [--layers 2]
//                   [--conversations 96] [--conversations-per-chunk 4]
//                   [--batch 16] [--max-tokens 64] [--train-steps 20] [--json]
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/command_line.h"
#include "bench_support.h"
#include "common/models_dir.h"
#include "engine/cpu_runtime.h"
#include "engine/load_model.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/transformer.h"
#include "scheduler/scheduler.h"
#include "storage/artifact_store.h"
#include "storage/store.h"
#include "train/cartridge_trainer.h"
#include "train/evaluator.h"
#include "train/synthesizer.h"

using namespace cdb;

namespace {

struct Story {
  const char* name;
  const char* pet;
  const char* pet_name;
  const char* color;
  const char* town;
  const char* number;
};

// Invented names (rare in TinyStories, so the model cannot guess them).
const Story kStories[] = {
    {"Zuli", "frog", "Bimbo", "green", "Pimble", "seven"},
    {"Tavo", "dog", "Roxy", "red", "Dunby", "three"},
    {"Mira", "cat", "Fizzle", "blue", "Lorn", "five"},
    {"Kenji", "bird", "Pippa", "yellow", "Wexley", "nine"},
    {"Olka", "bunny", "Snoot", "pink", "Marrow", "four"},
    {"Bram", "fish", "Kato", "orange", "Tillby", "six"},
    {"Nessa", "turtle", "Gumbo", "brown", "Fenwick", "two"},
    {"Yuri", "mouse", "Tinker", "white", "Hollin", "eight"},
    {"Dela", "duck", "Quibble", "purple", "Stoke", "ten"},
    {"Rafi", "horse", "Clover", "black", "Barrow", "eleven"},
    {"Suki", "pig", "Muffin", "gray", "Elmsby", "twelve"},
    {"Lenny", "goat", "Dusty", "gold", "Crail", "one"},
};

std::string story_text(const Story& s) {
  std::string n = s.name;
  return "Once upon a time, there was a child named " + n + ". " + n + " lived in a little town called " + s.town +
         ". " + n + " had a " + s.pet + " named " + s.pet_name + ". " + s.pet_name + " was " + s.color +
         " and liked to play. One day, " + n + " and " + s.pet_name + " found " + s.number +
         " shiny stones by the river. " + n + " was very happy and gave the stones to mom.\n";
}

std::string probes_jsonl(const std::vector<Story>& stories) {
  std::string out;
  auto line = [&](const std::string& prompt, const std::string& cont) {
    out += nlohmann::json{{"prompt", prompt}, {"continuation", cont}}.dump() + "\n";
  };
  for (size_t i = 0; i < stories.size(); ++i) {
    const Story& s = stories[i];
    std::string n = s.name;
    // Choices: the right name at position i % 4 among the next stories' pets.
    std::vector<std::string> choices;
    for (size_t j = 1; j < 4; ++j) choices.push_back(std::string(" ") + stories[(i + j) % stories.size()].pet_name + ".");
    const int answer = static_cast<int>(i % 4);
    choices.insert(choices.begin() + answer, std::string(" ") + s.pet_name + ".");
    out += nlohmann::json{{"prompt", n + " had a pet " + s.pet + ". The " + s.pet + " was called"},
                          {"choices", choices},
                          {"answer", answer}}
               .dump() +
           "\n";
    line("The town where " + n + " lived was", std::string(" ") + s.town + ".");
    line(std::string("The color of ") + s.pet_name + " the " + s.pet + " was", std::string(" ") + s.color + ".");
    line("By the river, " + n + " and the " + s.pet + " found", std::string(" ") + s.number + " shiny stones.");
  }
  return out;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<int64_t> int_list(const std::string& spec) {
  std::vector<int64_t> out;
  std::stringstream ss(spec);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(std::stoll(item));
  return out;
}

// A store directory that is removed at exit unless the user named it.
struct BenchStore {
  std::filesystem::path dir;
  bool temporary = false;
  explicit BenchStore(const std::string& named) {
    if (!named.empty()) {
      dir = named;
      return;
    }
    dir = std::filesystem::temp_directory_path() / ("cdb-selfstudy-bench-" + std::to_string(std::random_device{}()));
    temporary = true;
  }
  ~BenchStore() {
    std::error_code ec;
    if (temporary) std::filesystem::remove_all(dir, ec);
  }
};

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// CPU seconds of this process (all threads): on a loaded machine wall time
// says how busy the neighbours are, CPU time what the work cost.
double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// FLOP/s of a square fp32 matrix product on this machine with the threads
// in use: the peak that training's MFU is stated against on a CPU.
double measured_peak_flops(at::Device device) {
  c10::InferenceMode guard;
  const int64_t n = 1024;
  at::Tensor a = at::randn({n, n}, at::TensorOptions().device(device)), b = at::randn({n, n}, a.options());
  at::matmul(a, b);
  const auto t0 = std::chrono::steady_clock::now();
  int reps = 0;
  while (since(t0) < 1.0 || reps < 3) {
    at::Tensor c = at::matmul(a, b);
    (void)c.sum().item<float>();
    ++reps;
  }
  return 2.0 * static_cast<double>(n) * n * n * reps / since(t0);
}

// Matrix-product parameters touched per token (embedding lookup excluded,
// the output projection included).
double matmul_params(const ModelConfig& c) {
  const double q = static_cast<double>(c.n_heads) * c.head_dim, kv = static_cast<double>(c.n_kv_heads) * c.head_dim;
  const double per_layer = c.dim * (q + 2 * kv) + q * c.dim + 3.0 * c.dim * c.hidden_dim;
  return per_layer * c.n_layers + static_cast<double>(c.dim) * c.vocab_size;
}

// Decode tokens/s of the serving engine at `batch` sequences whose context
// is a shared prefix of `context` tokens, as synthesis runs them: timed from
// the moment every sequence has its first token, so prefill is left out.
double decode_tokens_per_s(Transformer& model, const std::vector<int32_t>& context, int64_t batch, int64_t tokens) {
  SchedulerOptions so;
  so.max_batch = batch;
  so.slot_tokens = tokens + 32;
  so.kv_budget_bytes = batch * KVSlots::slot_bytes(model.config(), so.slot_tokens, model.dtype());
  Scheduler engine(model, so);
  std::shared_ptr<const Cartridge> prefix;
  {
    c10::InferenceMode guard;
    prefix = std::make_shared<const Cartridge>(model.prefill_cartridge(context));
  }
  std::atomic<int64_t> started{0};
  std::atomic<int64_t> t_all_started{0};
  std::vector<ServeRequest> requests;
  for (int64_t i = 0; i < batch; ++i) {
    ServeRequest r;
    r.prompt = {context[static_cast<size_t>(i) % context.size()]};
    r.prefix = prefix;
    r.max_tokens = tokens;
    r.stop_at_eos = false;
    r.sampling.temperature = 0;
    r.on_token = [&, first = true](int32_t) mutable {
      if (!first) return;
      first = false;
      if (++started == batch)
        t_all_started = std::chrono::steady_clock::now().time_since_epoch().count();
    };
    requests.push_back(std::move(r));
  }
  auto tickets = engine.submit_all(std::move(requests));
  // Sleep, not spin: on 2 cores a spinning thread takes one from the engine.
  while (started.load() < batch) std::this_thread::sleep_for(std::chrono::microseconds(200));
  const int64_t decoded_at_start = engine.stats().decoded_tokens;
  for (auto& t : tickets) t->wait();
  const auto end = std::chrono::steady_clock::now().time_since_epoch().count();
  const double seconds = static_cast<double>(end - t_all_started.load()) * std::chrono::steady_clock::period::num /
                         std::chrono::steady_clock::period::den;
  return static_cast<double>(engine.stats().decoded_tokens - decoded_at_start) / seconds;
}

int run_cost(const cxxopts::ParseResult& a) {
  const std::string shape = a["shape"].as<std::string>();
  const bool json = a.count("json") > 0;
  auto tok = load_tokenizer(model_file("stories260K/tok512.bin"));
  // Random weights for the larger shapes: cost does not depend on values.
  // Their vocabulary includes tok512's ids, so the same corpus serves; their
  // continuations rarely meet a stop id, so they run to --max-tokens.
  const at::Device device(a["device"].as<std::string>());
  const at::ScalarType dtype = a["dtype"].as<std::string>() == "bf16" ? at::kBFloat16 : at::kFloat;
  Transformer model(shape == "stories260K" ? load_model(model_file("stories260K/stories260K.bin"))
                                           : bench::shaped_model(shape, a["layers"].as<int64_t>(), device, dtype),
                    device, dtype);
  set_compute_threads(a.count("threads") ? a["threads"].as<int>() : 1);
  std::vector<Story> stories(kStories, kStories + 12);
  std::string text;
  for (const auto& s : stories) text += story_text(s);
  std::vector<int32_t> corpus = tok->encode(text, false);
  // --corpus-tokens: the stories repeated to that length (a 128k-token
  // corpus for the GPU figures; cost does not depend on the text).
  for (const int64_t want = a["corpus-tokens"].as<int64_t>(); static_cast<int64_t>(corpus.size()) < want;)
    corpus.insert(corpus.end(), corpus.begin(), corpus.begin() + std::min<int64_t>(want - corpus.size(), corpus.size()));

  SynthesisOptions so;
  so.conversations = a["conversations"].as<int64_t>();
  so.conversations_per_chunk = a["conversations-per-chunk"].as<int64_t>();
  so.batch_size = a["batch"].as<int64_t>();
  so.b_max_tokens = a["max-tokens"].as<int64_t>();
  so.b_temperature = 0.7;
  so.max_chunk_tokens = std::min<int64_t>(a["max-chunk-tokens"].as<int64_t>(), model.config().max_seq_len / 2);
  so.min_chunk_tokens = std::min<int64_t>(so.min_chunk_tokens, so.max_chunk_tokens);
  so.seed = 1;
  auto t0 = std::chrono::steady_clock::now();
  double c0 = cpu_seconds();
  const SyntheticDataset data = synthesize(model, *tok, corpus, so);
  const double synthesis_s = since(t0), synthesis_cpu_s = cpu_seconds() - c0;
  const int64_t synthesized = data.total_tokens();
  int64_t chunk_tokens = 0;
  for (const auto& e : data.examples) chunk_tokens += e.chunk.end - e.chunk.begin;
  const int64_t context = 1 + chunk_tokens / static_cast<int64_t>(data.examples.size());

  const std::vector<int32_t> ctx(corpus.begin(), corpus.begin() + std::min<int64_t>(context, corpus.size()));
  const double decode_tps = decode_tokens_per_s(model, ctx, so.batch_size, so.b_max_tokens);

  std::vector<int32_t> with_bos{tok->bos_id()};
  with_bos.insert(with_bos.end(), corpus.begin(), corpus.end());
  TrainOptions to;
  to.steps = a["train-steps"].as<int64_t>();
  to.batch_size = a["train-batch"].as<int64_t>();
  to.seed = 1;
  to.activation_checkpointing = a.count("activation-checkpointing") > 0;
  CartridgeTrainer trainer(model, data, initial_cartridge(model, with_bos, a["p"].as<int64_t>()), to);
  t0 = std::chrono::steady_clock::now();
  c0 = cpu_seconds();
  const TrainResult tr = trainer.train();
  const double train_s = since(t0), train_cpu_s = cpu_seconds() - c0;
  // Tokens the steps read: each step draws batch_size conversations.
  const auto train_tokens = static_cast<int64_t>(static_cast<double>(to.steps * to.batch_size) *
                                      static_cast<double>(synthesized) / static_cast<double>(data.examples.size()));
  // Frozen weights: forward 2N and backward through the activations 2N
  // FLOPs per token (no weight gradients), attention left out.
  const double flops = 4.0 * matmul_params(model.config()) * static_cast<double>(train_tokens);
  const double peak = measured_peak_flops(model.device());
  const double mfu = flops / train_s / peak;

  nlohmann::json j;
  j["shape"] = shape;
  j["layers"] = model.config().n_layers;
  j["conversations"] = so.conversations;
  j["conversations_per_chunk"] = so.conversations_per_chunk;
  j["batch"] = so.batch_size;
  j["context_tokens"] = context;
  j["synthesized_tokens"] = synthesized;
  j["synthesis_s"] = synthesis_s;
  j["synthesis_cpu_s"] = synthesis_cpu_s;
  j["train_cpu_s"] = train_cpu_s;
  j["teacher_s"] = 0.0;  // read from the generating pass: no pass of its own
  j["train_s"] = train_s;
  j["train_steps"] = to.steps;
  j["activation_checkpointing"] = to.activation_checkpointing;  // recomputation is not counted in mfu
  j["synthesized_tokens_per_s"] = synthesized / synthesis_s;
  j["decode_tokens_per_s"] = decode_tps;
  j["synthesis_vs_decode"] = synthesized / synthesis_s / decode_tps;
  j["train_tokens_per_s"] = static_cast<double>(train_tokens) / train_s;
  j["peak_flops"] = peak;
  j["mfu"] = mfu;
  j["final_loss"] = tr.losses.empty() ? 0.0 : tr.losses.back();
  j["device"] = a["device"].as<std::string>();
  j["dtype"] = a["dtype"].as<std::string>();
  j["corpus_tokens"] = static_cast<int64_t>(corpus.size());
  // A slice measured, the whole job projected from its rates: synthesis
  // scales with conversations, training with steps.
  const int64_t full_conversations = a["project-conversations"].as<int64_t>();
  const int64_t full_steps = a["project-steps"].as<int64_t>();
  if (full_conversations > 0 || full_steps > 0) {
    const double synth = synthesis_s * static_cast<double>(std::max(full_conversations, so.conversations)) /
                         static_cast<double>(so.conversations);
    const double train = train_s * static_cast<double>(std::max(full_steps, to.steps)) / static_cast<double>(to.steps);
    j["projected"] = {{"conversations", std::max(full_conversations, so.conversations)},
                      {"steps", std::max(full_steps, to.steps)},
                      {"synthesis_s", synth},
                      {"train_s", train},
                      {"total_s", synth + train}};
    std::printf("projected (from the measured rates): %lld conversations %.0f s + %lld steps %.0f s = %.1f min\n",
                static_cast<long long>(std::max(full_conversations, so.conversations)), synth,
                static_cast<long long>(std::max(full_steps, to.steps)), train, (synth + train) / 60);
  }
  std::printf("shape %s (%lld layers), %lld conversations, %lld per chunk, batch %lld, context ~%lld tokens\n",
              shape.c_str(), static_cast<long long>(model.config().n_layers), static_cast<long long>(so.conversations),
              static_cast<long long>(so.conversations_per_chunk), static_cast<long long>(so.batch_size),
              static_cast<long long>(context));
  std::printf("synthesis  %8.2f s  %9.0f tokens/s (%lld tokens; teacher in the same pass), %.2f CPU-s\n",
              synthesis_s, synthesized / synthesis_s, static_cast<long long>(synthesized), synthesis_cpu_s);
  std::printf("decode     %8s    %9.0f tokens/s (same engine, batch and context): synthesis at %.0f%%\n", "",
              decode_tps, 100.0 * synthesized / synthesis_s / decode_tps);
  std::printf("training   %8.2f s  %9.0f tokens/s (%lld steps), %.2f CPU-s, MFU %.1f%% of a measured %.1f GFLOP/s\n",
              train_s, static_cast<double>(train_tokens) / train_s, static_cast<long long>(to.steps), train_cpu_s,
              100.0 * mfu, peak / 1e9);
  if (json) std::printf("%s\n", j.dump().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options opts("selfstudy_bench", "self-study vs ntp vs truncation on stories260K");
  opts.add_options()
      ("quick", "p = 32 only, 64 conversations, no curve (about 2 minutes)")
      ("sizes", "Cartridge sizes p", cxxopts::value<std::string>()->default_value("16,32,64,128"))
      ("steps", "training steps at every p", cxxopts::value<int64_t>()->default_value("120"))
      ("curve", "also score the trained Cartridges after these steps", cxxopts::value<std::string>()->default_value("30,60"))
      ("store", "store for the synthesized data and checkpoints (default: a temporary one)",
       cxxopts::value<std::string>()->default_value(""))
      ("json", "one JSON object as the last line")
      ("cost", "measure the cost of making a Cartridge instead (see the top of this file)")
      ("shape", "--cost: stories260K or a random-weight shape (llama-3.2-1b, ...)",
       cxxopts::value<std::string>()->default_value("stories260K"))
      ("layers", "--cost: keep the shape's first N layers (0: all)", cxxopts::value<int64_t>()->default_value("2"))
      ("conversations", "--cost: conversations to synthesize", cxxopts::value<int64_t>()->default_value("96"))
      ("conversations-per-chunk", "--cost: conversations per prefilled chunk", cxxopts::value<int64_t>()->default_value("4"))
      ("batch", "--cost: conversations in the engine at once", cxxopts::value<int64_t>()->default_value("16"))
      ("max-tokens", "--cost: tokens per continuation", cxxopts::value<int64_t>()->default_value("64"))
      ("train-steps", "--cost: training steps measured", cxxopts::value<int64_t>()->default_value("20"))
      ("p", "--cost: Cartridge tokens", cxxopts::value<int64_t>()->default_value("32"))
      ("threads", "--cost: LibTorch intra-op threads (default 1)", cxxopts::value<int>())
      ("device", "--cost: cpu or cuda", cxxopts::value<std::string>()->default_value("cpu"))
      ("dtype", "--cost: f32 or bf16 (random shapes)", cxxopts::value<std::string>()->default_value("f32"))
      ("corpus-tokens", "--cost: repeat the stories to this many tokens", cxxopts::value<int64_t>()->default_value("0"))
      ("max-chunk-tokens", "--cost: longest chunk", cxxopts::value<int64_t>()->default_value("4096"))
      ("activation-checkpointing", "--cost: recompute layers in the backward pass instead of keeping activations")
      ("train-batch", "--cost: conversations per training step", cxxopts::value<int64_t>()->default_value("16"))
      ("project-conversations", "--cost: project the synthesis of this many conversations", cxxopts::value<int64_t>()->default_value("0"))
      ("project-steps", "--cost: project this many training steps", cxxopts::value<int64_t>()->default_value("0"))
      ("h,help", "help");
  cxxopts::ParseResult a;
  if (auto status = cdb::parse_command_line(opts, argc, argv, a)) return *status;
  if (a.count("cost")) return run_cost(a);
  const bool quick = a.count("quick") > 0, json = a.count("json") > 0;
  const int64_t steps = a["steps"].as<int64_t>();
  const std::vector<int64_t> sizes = quick ? std::vector<int64_t>{32} : int_list(a["sizes"].as<std::string>());
  const std::vector<int64_t> curve = quick ? std::vector<int64_t>{} : int_list(a["curve"].as<std::string>());
  auto tok = load_tokenizer(model_file("stories260K/tok512.bin"));
  Transformer model(load_model(model_file("stories260K/stories260K.bin")));
  // A 260K-parameter model gains nothing from intra-op threads, and on a
  // busy machine their spin-waits cost up to 20x (see the evidence test).
  set_compute_threads(1);
  const std::string general = slurp(model_file("stories260K/golden_greedy_t0_n200.txt"));
  BenchStore where(a["store"].as<std::string>());
  Store store(where.dir);
  StoreArtifacts artifacts(store);

  struct CorpusCase {
    const char* name;
    size_t stories;
  };
  const std::vector<CorpusCase> cases = {{"fits_window", 3}, {"4x_window", 12}};

  nlohmann::json out = nlohmann::json::array();
  std::printf("%-12s %5s %6s %-10s %9s %7s %6s %9s %9s %8s %9s\n", "corpus", "p", "steps", "mode", "LL/tok", "gain",
              "MC", "KL(icl)", "generalLL", "mem x", "train s");
  const auto t_start = std::chrono::steady_clock::now();
  for (const auto& cc : cases) {
    std::vector<Story> stories(kStories, kStories + cc.stories);
    std::string corpus;
    for (const auto& s : stories) corpus += story_text(s);
    auto probes = parse_probes(probes_jsonl(stories), cc.name);
    for (int64_t p : sizes) {
      EvalOptions o;
      o.cartridge_tokens = p;
      o.synthesis.conversations = quick ? 64 : 96;
      o.synthesis.batch_size = 16;
      o.synthesis.b_temperature = 0.7;
      o.synthesis.b_max_tokens = 64;
      o.synthesis.opener_from_chunk = 0.8;
      o.synthesis.seed = 7;
      o.train.steps = steps;
      o.train.batch_size = 16;
      o.train.seed = 11;
      o.ntp_examples = 96;
      o.ntp_window = 64;
      o.general_text = general;
      o.seed = 3;
      o.curve_steps = curve;
      o.store = &artifacts;
      o.store_prefix = std::string(cc.name) + "/";
      EvalReport r = evaluate(model, *tok, corpus, probes, o);
      for (const auto& m : r.modes) {
        const double mem = m.cartridge_bytes ? static_cast<double>(r.full_kv_bytes) / m.cartridge_bytes : 0;
        const char* mc = m.mc_accuracy < 0 ? "-" : nullptr;
        char mc_s[16];
        if (!mc) std::snprintf(mc_s, sizeof mc_s, "%.2f", m.mc_accuracy);
        for (const auto& pt : m.curve)
          if (pt.step != static_cast<int64_t>(m.losses.size()))
            std::printf("%-12s %5lld %6lld %-10s %9.4f %7.3f %6s %9.4f %9s %8s %9s\n", cc.name,
                        static_cast<long long>(p), static_cast<long long>(pt.step), eval_mode_name(m.mode),
                        pt.ll_per_token, pt.gain_recovered, "", pt.heldout_kl, "", "", "");
        std::printf("%-12s %5lld %6lld %-10s %9.4f %7.3f %6s %9.4f %9.4f %8.1f %9.1f\n", cc.name,
                    static_cast<long long>(p), static_cast<long long>(m.losses.size()), eval_mode_name(m.mode),
                    m.ll_per_token, m.gain_recovered, mc ? mc : mc_s, m.heldout_kl, m.general_ll, mem,
                    m.train_wall_s);
        std::fflush(stdout);
      }
      nlohmann::json row = nlohmann::json::parse(r.to_json());
      row["corpus"] = cc.name;
      row["p"] = p;
      row["steps"] = steps;
      out.push_back(row);
    }
  }
  const double total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  std::fprintf(stderr, "selfstudy_bench: %.0f s in all\n", total_s);
  if (json)
    std::printf("%s\n", nlohmann::json{{"bench", "selfstudy"}, {"device", "cpu"}, {"wall_s", total_s}, {"runs", out}}
                            .dump()
                            .c_str());
  return 0;
}
