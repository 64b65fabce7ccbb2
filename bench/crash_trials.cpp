// crash_trials: the store's failure trials (tests/support/crash_trials.h):
// SIGKILLs of a writer at random moments, damage to every file of a data
// directory, writes into a full disk; prints the counts. lost_records,
// open_crashes and silent_accepts must be 0.
//
//   build/bin/crash_trials --json [--seed N] [--kills N] [--corruptions N] [--disk-full N]
//
// Disk-full trials mount a 3 MB tmpfs (root only; skipped with a note
// otherwise).
#include <cxxopts.hpp>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "common/command_line.h"
#include "support/crash_trials.h"

int main(int argc, char** argv) {
  cxxopts::Options cli("crash_trials", "kills, damaged files and full disks against a store; prints counts");
  cli.add_options()("json", "print only the JSON result line")(
      "seed", "random seed", cxxopts::value<uint32_t>()->default_value("1"))(
      "kills", "writer SIGKILLs", cxxopts::value<int>()->default_value("200"))(
      "corruptions", "damaged-file trials", cxxopts::value<int>()->default_value("500"))(
      "disk-full", "full-disk trials (3 MB tmpfs, root only)", cxxopts::value<int>()->default_value("20"))(
      "dir", "scratch directory (default: a new one under the temp directory)",
      cxxopts::value<std::string>()->default_value(""))("h,help", "help");
  cxxopts::ParseResult args;
  if (auto status = cdb::parse_command_line(cli, argc, argv, args)) return *status;
  cdb::test::TrialOptions o;
  o.seed = args["seed"].as<uint32_t>();
  o.kills = args["kills"].as<int>();
  o.corruptions = args["corruptions"].as<int>();
  o.disk_full = args["disk-full"].as<int>();
  o.work = args["dir"].as<std::string>().empty()
               ? std::filesystem::temp_directory_path() / ("cdb-crash-trials-" + std::to_string(::getpid()))
               : std::filesystem::path(args["dir"].as<std::string>());
  const auto t0 = std::chrono::steady_clock::now();
  const auto counts = cdb::test::run_trials(o);
  nlohmann::json out = counts.to_json();
  out["bench"] = "crash_trials";
  out["seed"] = o.seed;
  out["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::error_code ec;
  std::filesystem::remove_all(o.work, ec);
  if (!args.count("json")) {
    std::printf("%d trials: %d kills (%d mid-run), %d damaged directories, %d full disks%s\n",
                out["trials"].get<int>(), counts.kills, counts.kills_mid_run, counts.corruptions, counts.disk_full,
                counts.disk_full_note.empty() ? "" : (" (" + counts.disk_full_note + ")").c_str());
    std::printf("lost records %d, open crashes %d, silent accepts %d; refused opens %d, damage found on read %d, "
                "unharmed %d; recover rebuilt %.1f%%\n",
                counts.lost_records, counts.open_crashes, counts.silent_accepts, counts.refused_opens,
                counts.detected_on_read, counts.unharmed, 100 * counts.repaired_share());
  }
  std::printf("%s\n", out.dump().c_str());
  return counts.lost_records == 0 && counts.open_crashes == 0 && counts.silent_accepts == 0 ? 0 : 1;
}
