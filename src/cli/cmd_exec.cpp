// cartridge exec DATA_DIR -c 'statements' [-f script.sql]: runs statements
// of the query language non-interactively through the embedded library
// (include/cartridgedb/cartridgedb.h), as a script or the demo does. ASK
// answers stream to stdout; training progress is a bar on stderr; other
// results print as aligned tables. Exit status 1 at the first error, with
// the statement's line and a caret for a syntax error.
#include <cxxopts.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cartridgedb/cartridgedb.h"
#include "cli/commands.h"

namespace cdb::cli {
namespace {

void print_table(const cartridgedb::Result& r) {
  if (r.columns.empty()) {
    std::printf("%s\n", r.text.c_str());
    return;
  }
  std::vector<size_t> w(r.columns.size());
  for (size_t c = 0; c < r.columns.size(); ++c) w[c] = r.columns[c].size();
  auto shown = [](const std::string& s) {
    std::string t = s.substr(0, 60);
    std::replace(t.begin(), t.end(), '\n', ' ');
    return t.size() < s.size() ? t + "..." : t;
  };
  for (const auto& row : r.rows)
    for (size_t c = 0; c < row.size(); ++c) w[c] = std::max(w[c], shown(row[c]).size());
  auto line = [&](const std::vector<std::string>& cells) {
    for (size_t c = 0; c < cells.size(); ++c) std::printf("%s%-*s", c ? " | " : "", static_cast<int>(w[c]), shown(cells[c]).c_str());
    std::printf("\n");
  };
  line(r.columns);
  for (size_t c = 0; c < w.size(); ++c) std::printf("%s%s", c ? "-+-" : "", std::string(w[c], '-').c_str());
  std::printf("\n");
  for (const auto& row : r.rows) line(row);
  std::printf("(%s)\n", r.text.c_str());
}

std::string clock(double s) {
  if (!std::isfinite(s) || s < 0) return "--:--";
  char b[32];
  std::snprintf(b, sizeof b, "%d:%02d", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  return b;
}

// One line on stderr, redrawn in place: [#####-----]  45% job 3 training
// step 12/60 loss 1.2345 812 tok/s ETA 0:12
void progress_bar(const cartridgedb::Progress& p) {
  const int width = 30;
  const int filled = static_cast<int>(std::lround(std::clamp(p.fraction, 0.0, 1.0) * width));
  std::string bar = std::string(filled, '#') + std::string(width - filled, '-');
  std::fprintf(stderr, "\r[%s] %3.0f%% job %lld %-12s", bar.c_str(), 100 * p.fraction, static_cast<long long>(p.job),
               p.state == "running" ? p.phase.c_str() : p.state.c_str());
  if (p.total_steps > 0) std::fprintf(stderr, " step %lld/%lld", static_cast<long long>(p.step), static_cast<long long>(p.total_steps));
  if (std::isfinite(p.loss)) std::fprintf(stderr, " loss %.4f", p.loss);
  if (p.tokens_per_s > 0) std::fprintf(stderr, " %.0f tok/s ETA %s", p.tokens_per_s, clock(p.eta_s).c_str());
  std::fprintf(stderr, "   ");
  if (p.state != "running" && p.state != "queued") std::fprintf(stderr, "\n");
  std::fflush(stderr);
}

}  // namespace

int cmd_exec(int argc, char** argv) {
  cxxopts::Options opts("cartridge exec", "Run query-language statements on a data directory");
  opts.positional_help("DATA_DIR");
  opts.add_options()
      ("dir", "data directory", cxxopts::value<std::string>())
      ("c,command", "statements to run", cxxopts::value<std::string>())
      ("f,file", "a script file to run", cxxopts::value<std::string>())
      ("model", "model (first open; later opens use the recorded one)", cxxopts::value<std::string>()->default_value(""))
      ("tokenizer", "tokenizer (default: recorded, or beside the model)", cxxopts::value<std::string>()->default_value(""))
      ("device", "cpu or cuda[:n]", cxxopts::value<std::string>()->default_value("cpu"))
      ("no-workers", "do not run training jobs in this process")
      ("echo", "print each statement before its result")
      ("h,help", "this help");
  opts.parse_positional({"dir"});
  cxxopts::ParseResult args;
  try {
    args = opts.parse(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cartridge exec: %s\n%s", e.what(), opts.help().c_str());
    return 2;
  }
  if (args.count("help")) {
    std::printf("%s", opts.help().c_str());
    return 0;
  }
  if (!args.count("dir") || (!args.count("command") && !args.count("file"))) {
    std::fprintf(stderr, "cartridge exec: give DATA_DIR and -c 'statements' or -f script.sql\n%s", opts.help().c_str());
    return 2;
  }
  std::vector<std::string> scripts;
  if (args.count("file")) {
    std::ifstream in(args["file"].as<std::string>());
    if (!in) {
      std::fprintf(stderr, "cartridge exec: cannot read %s\n", args["file"].as<std::string>().c_str());
      return 1;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    scripts.push_back(ss.str());
  }
  // One string: a vector option would split the statements at commas.
  if (args.count("command")) scripts.push_back(args["command"].as<std::string>());

  cartridgedb::OpenOptions o;
  o.model_path = args["model"].as<std::string>();
  o.tokenizer_path = args["tokenizer"].as<std::string>();
  o.device = args["device"].as<std::string>();
  o.start_workers = !args.count("no-workers");
  const bool echo = args.count("echo") > 0;
  try {
    auto db = cartridgedb::Database::open(args["dir"].as<std::string>(), o);
    cartridgedb::Callbacks cb;
    bool streamed = false;
    cb.on_token = [&](std::string_view t) {
      std::fwrite(t.data(), 1, t.size(), stdout);
      std::fflush(stdout);
      streamed = true;
    };
    cb.on_progress = progress_bar;
    // Each result prints as its statement ends (before the next starts).
    cb.on_result = [&](const cartridgedb::Result& r) {
      if (r.statement == "ASK") {
        if (!streamed) std::printf("%s", r.text.c_str());
        std::printf("\n");
      } else {
        print_table(r);
      }
      std::fflush(stdout);
      streamed = false;
    };
    for (const auto& script : scripts) {
      if (echo) std::printf("> %s\n", script.c_str());
      db->execute_script(script, cb);
    }
  } catch (const cartridgedb::ParseError& e) {
    std::fprintf(stderr, "cartridge exec: %s\n%s\n", e.what(), e.excerpt().c_str());
    return 1;
  } catch (const cartridgedb::Error& e) {
    std::fprintf(stderr, "cartridge exec: error: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace cdb::cli
