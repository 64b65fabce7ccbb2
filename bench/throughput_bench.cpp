// throughput_bench: decode throughput of the Scheduler at the largest batch
// that a fixed KV memory budget holds, a Cartridge of p tokens against ICL
// (the corpus of n tokens in the prompt), each in two settings:
//
//   distinct  every request has its own corpus: its Cartridge (or its
//             corpus's KV) sits in its own KV slot, as the paper measured;
//   shared    all requests read one Cartridge (or one corpus prefix),
//             attended once per step for the whole batch (Hydragen).
//
// A request's corpus KV is random: decode cost depends on its size, not its
// values, and prefilling 128k-token prompts would only measure prefill. The
// question (--question tokens) is prefilled for real, then --decode tokens
// are generated greedily for every request. Throughput is measured over the
// steps where the whole batch runs (after the last request's first token).
//
// Memory: --budget-gb is the KV memory (all slots, plus the shared prefix
// when there is one); the batch is what it holds, capped at --max-batch.
// "bandwidth" counts the bytes a decode step must read (weights + every
// running request's KV + the shared prefix) over the measured step time.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>

#include "bench_support.h"
#include "common/command_line.h"
#include "common/error.h"
#include "common/models_dir.h"
#include "engine/llama2c_loader.h"
#include "scheduler/scheduler.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace cdb;

struct Workload {
  std::string method;   // "cartridge" or "icl"
  std::string sharing;  // "distinct" or "shared"
  int64_t context;      // p or n
};

Cartridge random_kv(const Transformer& m, int64_t tokens) {
  const ModelConfig& c = m.config();
  Cartridge k;
  for (int64_t l = 0; l < c.n_layers; ++l) {
    k.keys.push_back(at::randn({c.n_kv_heads, tokens, c.head_dim}, m.options()));
    k.values.push_back(at::randn({c.n_kv_heads, tokens, c.head_dim}, m.options()));
  }
  return k;
}

int64_t weight_bytes(const Transformer& m) {
  const ModelWeights& w = m.model().weights;
  int64_t b = w.tok_embeddings.nbytes() + w.norm.nbytes();
  if (!w.output.is_same(w.tok_embeddings)) b += w.output.nbytes();
  for (const auto& l : w.layers)
    for (const at::Tensor* t : l.all())
      if (t->defined()) b += t->nbytes();
  return b;
}

void sync(const Transformer& m) {
  if (m.device().is_cuda()) at::zeros({1}, m.options()).cpu();  // waits for the stream
}

nlohmann::json run(Transformer& m, const Workload& w, int64_t budget, int64_t question, int64_t decode,
                   int64_t max_batch, bool graphs, bool verbose) {
  const ModelConfig& c = m.config();
  const bool shared = w.sharing == "shared";
  const int64_t kv_token = KVSlots::slot_bytes(c, 1, m.dtype());
  const int64_t slot_tokens = question + decode + (shared ? 0 : w.context);
  const int64_t prefix_bytes = w.context * kv_token;  // the shared prefix, or the one source every slot copies
  nlohmann::json out = {{"method", w.method}, {"sharing", w.sharing}, {"context", w.context}};
  const int64_t slot_bytes = KVSlots::slot_bytes(c, slot_tokens, m.dtype());
  const int64_t batch = std::min(max_batch, (budget - prefix_bytes) / slot_bytes);
  if (batch < 1) {
    out["skipped"] = "the budget holds no request";
    if (verbose) std::printf("%-9s %-8s n=%-7lld does not fit the budget\n", w.method.c_str(), w.sharing.c_str(), (long long)w.context);
    return out;
  }
  auto prefix = std::make_shared<const Cartridge>(random_kv(m, w.context));
  Scheduler sched(m, SchedulerOptions{.kv_budget_bytes = batch * slot_bytes,
                                      .slot_tokens = slot_tokens,
                                      .max_batch = batch,
                                      .max_queue_wait_s = 3600,
                                      .cuda_graphs = graphs});
  std::mutex mu;
  Clock::time_point last_first{};
  std::atomic<int64_t> tokens_after{0};
  std::vector<std::shared_ptr<ServeTicket>> tickets;
  at::Tensor q = at::randint(3, c.vocab_size, {batch, question}, at::kLong);
  sync(m);
  const auto t0 = Clock::now();
  std::atomic<int64_t> started{0};
  for (int64_t i = 0; i < batch; ++i) {
    ServeRequest r;
    auto row = q[i];
    r.prompt.assign(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + question);
    r.prefix = prefix;
    r.share_prefix = shared;
    r.sampling.temperature = 0;
    r.max_tokens = decode;
    r.stop_at_eos = false;
    r.on_token = [&, first = true](int32_t) mutable {
      if (first) {
        first = false;
        if (++started == batch) {
          std::lock_guard lock(mu);
          last_first = Clock::now();
        }
        return;
      }
      if (started.load() == batch) ++tokens_after;
    };
    tickets.push_back(sched.submit(std::move(r)));
  }
  for (auto& t : tickets) t->wait();
  const auto t1 = Clock::now();
  const double all_s = std::chrono::duration<double>(t1 - t0).count();
  const double steady_s = std::chrono::duration<double>(t1 - last_first).count();
  const double tps = static_cast<double>(tokens_after.load()) / steady_s;
  const double step_s = steady_s / static_cast<double>(decode - 1);
  // Bytes one step reads at the end of the run (KV lengths are largest then).
  const int64_t kv_read = batch * (slot_tokens - 1) * kv_token + (shared ? prefix_bytes : 0);
  const double bw = static_cast<double>(weight_bytes(m) + kv_read) / step_s;
  out.update({{"batch", batch},
              {"kv_bytes_per_request", slot_bytes},
              {"shared_prefix_bytes", shared ? prefix_bytes : 0},
              {"tokens_per_s", tps},
              {"step_ms", step_s * 1e3},
              {"read_gb_per_s", bw / 1e9},
              {"wall_s", all_s},
              {"graph_replays", sched.stats().graph_replays}});
  if (verbose)
    std::printf("%-9s %-8s n=%-7lld batch=%-5lld kv/request=%9.1f MB  %10.1f tok/s  step %8.2f ms  %7.1f GB/s"
                "  graph steps %lld\n",
                w.method.c_str(), w.sharing.c_str(), (long long)w.context, (long long)batch, slot_bytes / 1e6, tps,
                step_s * 1e3, bw / 1e9, (long long)sched.stats().graph_replays);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options opts("throughput_bench", "decode throughput at the largest batch a KV budget holds: Cartridge vs ICL");
  opts.add_options()
      ("json", "print only the JSON line")
      ("model", "stories260K or a random shape (llama-3.2-1b, llama-3.2-3b, llama-3.1-8b, qwen3-4b)",
       cxxopts::value<std::string>()->default_value("stories260K"))
      ("layers", "layers of a random shape (0: all)", cxxopts::value<int64_t>()->default_value("0"))
      ("device", "cpu or cuda", cxxopts::value<std::string>()->default_value("cpu"))
      ("dtype", "f32 or bf16 (default: f32 on cpu, bf16 on cuda)", cxxopts::value<std::string>()->default_value(""))
      ("budget-gb", "KV memory budget in GB", cxxopts::value<double>()->default_value("2"))
      ("cartridge-tokens", "Cartridge tokens p", cxxopts::value<int64_t>()->default_value("2048"))
      ("contexts", "ICL corpus sizes n (tokens)", cxxopts::value<std::string>()->default_value("8192,32768,131072"))
      ("sharing", "distinct,shared", cxxopts::value<std::string>()->default_value("distinct,shared"))
      ("question", "question tokens per request", cxxopts::value<int64_t>()->default_value("32"))
      ("decode", "tokens generated per request", cxxopts::value<int64_t>()->default_value("128"))
      ("max-batch", "batch cap", cxxopts::value<int64_t>()->default_value("256"))
      ("graphs", "replay decode steps as CUDA graphs: on or off", cxxopts::value<std::string>()->default_value("on"))
      ("attention", "decode attention over own tokens: auto (the fused CUDA kernel where it applies) or matmul",
       cxxopts::value<std::string>()->default_value("auto"))
      ("h,help", "help");
  cxxopts::ParseResult args;
  if (auto status = cdb::parse_command_line(opts, argc, argv, args)) return *status;
  const bool verbose = !args.count("json");
  // Line by line even into a file: a run stopped by a time limit keeps
  // the rows it printed.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  try {
    c10::InferenceMode inference;
    at::manual_seed(0);
    const at::Device device(args["device"].as<std::string>());
    std::string dt = args["dtype"].as<std::string>();
    if (dt.empty()) dt = device.is_cuda() ? "bf16" : "f32";
    const at::ScalarType dtype = dt == "bf16" ? at::kBFloat16 : at::kFloat;
    const std::string name = args["model"].as<std::string>();
    Transformer m = name == "stories260K"
                        ? Transformer(load_llama2c(model_file("stories260K/stories260K.bin")), device, dtype)
                        : Transformer(bench::shaped_model(name, args["layers"].as<int64_t>(), device, dtype), device, dtype);
    const std::string attention = args["attention"].as<std::string>();
    if (attention != "auto" && attention != "matmul")
      throw InvalidArgument("--attention must be auto or matmul, not '" + attention + "'");
    m.set_decode_attention(attention == "auto" ? DecodeAttention::kAuto : DecodeAttention::kMatmul);
    const std::string graphs = args["graphs"].as<std::string>();
    if (graphs != "on" && graphs != "off") throw InvalidArgument("--graphs must be on or off, not '" + graphs + "'");
    // What decode() will run, asked of a pool like the Scheduler's.
    const bool fused = m.decode_uses_fused_attention(KVSlots(m.config(), 1, 16, m.options()));
    const int64_t budget = static_cast<int64_t>(args["budget-gb"].as<double>() * 1e9);
    const int64_t question = args["question"].as<int64_t>(), decode = args["decode"].as<int64_t>();
    const int64_t max_batch = args["max-batch"].as<int64_t>();
    // Context lengths past the model's window are cut to what fits.
    const int64_t window = m.config().max_seq_len > 0 ? m.config().max_seq_len : (int64_t{1} << 20);
    std::vector<Workload> work;
    std::vector<std::string> sharings;
    for (const std::string s : {"distinct", "shared"})
      if (args["sharing"].as<std::string>().find(s) != std::string::npos) sharings.push_back(s);
    auto fit = [&](int64_t n) { return std::min(n, window - question - decode); };
    for (const auto& s : sharings) {
      work.push_back({"cartridge", s, fit(args["cartridge-tokens"].as<int64_t>())});
      for (int64_t n : bench::parse_list(args["contexts"].as<std::string>())) work.push_back({"icl", s, fit(n)});
    }
    nlohmann::json result = {{"bench", "throughput"}, {"model", name}, {"layers", m.config().n_layers},
                             {"device", device.str()}, {"dtype", dt}, {"budget_gb", budget / 1e9},
                             {"question", question}, {"decode", decode}, {"weight_bytes", weight_bytes(m)},
                             {"torch_threads", at::get_num_threads()},
                             {"decode_attention", fused ? "fused kernel" : "matmul"}, {"cuda_graphs", graphs}, {"runs", nlohmann::json::array()}};
    if (verbose)
      std::printf("%s (%lld layers) on %s %s, KV budget %.1f GB, weights %.2f GB, decode attention: %s\n",
                  name.c_str(), (long long)m.config().n_layers, device.str().c_str(), dt.c_str(), budget / 1e9,
                  weight_bytes(m) / 1e9, fused ? "fused kernel" : "matmul");
    for (const auto& w : work) result["runs"].push_back(run(m, w, budget, question, decode, max_batch, graphs == "on", verbose));
    // Cartridge / ICL ratios, per sharing and corpus size.
    nlohmann::json ratios = nlohmann::json::array();
    for (const auto& a : result["runs"])
      if (a["method"] == "cartridge" && a.contains("tokens_per_s"))
        for (const auto& b : result["runs"])
          if (b["method"] == "icl" && b["sharing"] == a["sharing"] && b.contains("tokens_per_s")) {
            const double r = a["tokens_per_s"].get<double>() / b["tokens_per_s"].get<double>();
            ratios.push_back({{"sharing", a["sharing"]}, {"n", b["context"]}, {"cartridge_over_icl", r}});
            if (verbose)
              std::printf("cartridge/icl %-8s n=%-7lld %8.1fx\n", a["sharing"].get<std::string>().c_str(),
                          (long long)b["context"].get<int64_t>(), r);
          }
    result["ratios"] = ratios;
    std::printf("%s\n", result.dump().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "throughput_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
