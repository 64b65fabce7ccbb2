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
#include <ATen/Parallel.h>
#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/command_line.h"
#include "common/models_dir.h"
#include "engine/load_model.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/transformer.h"
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
      ("h,help", "help");
  cxxopts::ParseResult a;
  if (auto status = cdb::parse_command_line(opts, argc, argv, a)) return *status;
  const bool quick = a.count("quick") > 0, json = a.count("json") > 0;
  const int64_t steps = a["steps"].as<int64_t>();
  const std::vector<int64_t> sizes = quick ? std::vector<int64_t>{32} : int_list(a["sizes"].as<std::string>());
  const std::vector<int64_t> curve = quick ? std::vector<int64_t>{} : int_list(a["curve"].as<std::string>());
  auto tok = load_tokenizer(model_file("stories260K/tok512.bin"));
  Transformer model(load_model(model_file("stories260K/stories260K.bin")));
  // A 260K-parameter model gains nothing from intra-op threads, and on a
  // busy machine their spin-waits cost up to 20x (see the evidence test).
  at::set_num_threads(1);
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
