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
//
//   selfstudy_bench [--quick] [--json]
#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/models_dir.h"
#include "engine/load_model.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/transformer.h"
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
  for (const auto& s : stories) {
    std::string n = s.name;
    line(n + " had a pet " + s.pet + ". The " + s.pet + " was called", std::string(" ") + s.pet_name + ".");
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

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options opts("selfstudy_bench", "self-study vs ntp vs truncation on stories260K");
  opts.add_options()("quick", "fewer sizes and steps (about 2 minutes)")("json", "one JSON object as the last line")(
      "steps", "training steps at every p", cxxopts::value<int64_t>()->default_value("120"))(
      "h,help", "help");
  auto a = opts.parse(argc, argv);
  if (a.count("help")) {
    std::printf("%s\n", opts.help().c_str());
    return 0;
  }
  const bool quick = a.count("quick") > 0, json = a.count("json") > 0;
  const int64_t steps = a["steps"].as<int64_t>();
  auto tok = load_tokenizer(model_file("stories260K/tok512.bin"));
  Transformer model(load_model(model_file("stories260K/stories260K.bin")));
  const std::string general = slurp(model_file("stories260K/golden_greedy_t0_n200.txt"));

  const std::vector<int64_t> sizes = quick ? std::vector<int64_t>{32} : std::vector<int64_t>{16, 32, 64, 128};
  const std::vector<int64_t> step_sweep = quick ? std::vector<int64_t>{} : std::vector<int64_t>{30, 60};
  struct CorpusCase {
    const char* name;
    size_t stories;
  };
  const std::vector<CorpusCase> cases = {{"fits_window", 3}, {"4x_window", 12}};

  nlohmann::json out = nlohmann::json::array();
  std::printf("%-12s %5s %6s %-10s %9s %7s %9s %9s %8s %9s\n", "corpus", "p", "steps", "mode", "LL/tok", "gain",
              "KL(icl)", "generalLL", "mem x", "train s");
  for (const auto& cc : cases) {
    std::vector<Story> stories(kStories, kStories + cc.stories);
    std::string corpus;
    for (const auto& s : stories) corpus += story_text(s);
    auto probes = parse_probes(probes_jsonl(stories), cc.name);
    for (int64_t p : sizes) {
      std::vector<std::pair<int64_t, std::vector<EvalMode>>> runs = {
          {steps, {EvalMode::SelfStudy, EvalMode::Ntp, EvalMode::Truncation, EvalMode::Icl, EvalMode::None}}};
      if (p == 32)
        for (int64_t s : step_sweep) runs.push_back({s, {EvalMode::SelfStudy, EvalMode::Ntp}});
      for (const auto& [st, modes] : runs) {
        EvalOptions o;
        o.modes = modes;
        o.cartridge_tokens = p;
        o.synthesis.conversations = quick ? 64 : 96;
        o.synthesis.batch_size = 16;
        o.synthesis.b_temperature = 0.7;
        o.synthesis.b_max_tokens = 64;
        o.synthesis.opener_from_chunk = 0.8;
        o.synthesis.seed = 7;
        o.train.steps = st;
        o.train.batch_size = 16;
        o.train.seed = 11;
        o.ntp_examples = 96;
        o.ntp_window = 64;
        o.general_text = general;
        o.seed = 3;
        EvalReport r = evaluate(model, *tok, corpus, probes, o);
        for (const auto& m : r.modes) {
          double mem = m.cartridge_bytes ? static_cast<double>(r.full_kv_bytes) / m.cartridge_bytes : 0;
          std::printf("%-12s %5lld %6lld %-10s %9.4f %7.3f %9.4f %9.4f %8.1f %9.1f\n", cc.name,
                      static_cast<long long>(p), static_cast<long long>(st), eval_mode_name(m.mode), m.ll_per_token,
                      m.gain_recovered, m.heldout_kl, m.general_ll, mem, m.train_wall_s);
          std::fflush(stdout);
        }
        nlohmann::json row = nlohmann::json::parse(r.to_json());
        row["corpus"] = cc.name;
        row["p"] = p;
        row["steps"] = st;
        out.push_back(row);
      }
    }
  }
  if (json) std::printf("%s\n", nlohmann::json{{"bench", "selfstudy"}, {"device", "cpu"}, {"runs", out}}.dump().c_str());
  return 0;
}
