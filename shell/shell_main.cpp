#include "shell/shell_main.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cerrno>
#include <cxxopts.hpp>
#include <fstream>
#include <memory>
#include <sstream>

#include "common/command_line.h"
#include "shell/embedded_session.h"
#include "shell/interrupt.h"
#include "shell/line_reader.h"
#include "shell/remote_session.h"
#include "shell/shell.h"

namespace cdb::shell {

namespace {

// $CARTRIDGE_HISTORY, else ~/.cartridge_history, else none.
std::string history_file() {
  if (const char* f = std::getenv("CARTRIDGE_HISTORY")) return f;
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cartridge_history";
  return "";
}

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

}  // namespace

int shell_main(int argc, char** argv, const CommandInfo& info) {
  cxxopts::Options opts(info.name, "Run statements of the Cartridge language (docs/language.md), typed or scripted");
  opts.positional_help("[DATA_DIR]");
  opts.add_options()
      ("dir", "data directory (default ./cartridge-data)", cxxopts::value<std::string>()->default_value("cartridge-data"))
      ("c,command", "statements to run, then exit", cxxopts::value<std::string>())
      ("f,file", "a script to run, then exit (before -c when both are given)", cxxopts::value<std::string>())
      ("format", "result format: table, csv or json", cxxopts::value<std::string>()->default_value("table"))
      ("x,expanded", "expanded table display (as \\x)")
      ("connect", "a cartridge server: HOST:PORT (default port 5433) or a libpq conninfo", cxxopts::value<std::string>())
      ("model", "model for a new data directory (default: the recorded one, else stories260K)",
       cxxopts::value<std::string>()->default_value(""))
      ("tokenizer", "tokenizer (default: recorded, or beside the model)", cxxopts::value<std::string>()->default_value(""))
      ("device", "cpu or cuda[:n]", cxxopts::value<std::string>()->default_value("cpu"))
      ("catalog", "postgresql://user@host:port/db: the catalog in PostgreSQL (default $CDB_CATALOG, else "
                  "DATA_DIR/catalog.sqlite)",
       cxxopts::value<std::string>()->default_value(std::getenv("CDB_CATALOG") ? std::getenv("CDB_CATALOG") : ""))
      ("no-workers", "do not run training jobs in this process")
      ("e,echo", "print each statement before its result")
      ("h,help", "this help");
  opts.parse_positional({"dir"});
  cxxopts::ParseResult args;
  if (auto status = parse_command_line(opts, argc, argv, args)) return *status;
  const bool scripted = args.count("command") || args.count("file");
  if (info.script_required && !scripted) {
    std::fprintf(stderr, "%s: give -c 'statements' or -f script.sql\n%s", info.name, opts.help().c_str());
    return 2;
  }
  ShellSettings settings;
  if (auto f = parse_format(args["format"].as<std::string>())) {
    settings.print.format = *f;
  } else {
    std::fprintf(stderr, "%s: --format takes table, csv or json, not '%s'\n", info.name,
                 args["format"].as<std::string>().c_str());
    return 2;
  }
  settings.print.expanded = args.count("expanded") > 0;
  settings.echo = args.count("echo") > 0;
  settings.progress_redraw = ::isatty(STDERR_FILENO);
  std::string script;
  if (args.count("file") && !read_file(args["file"].as<std::string>(), script)) {
    std::fprintf(stderr, "%s: cannot read %s: %s\n", info.name, args["file"].as<std::string>().c_str(),
                 std::strerror(errno));
    return 1;
  }

  std::unique_ptr<Session> session;
  try {
    if (args.count("connect")) {
      session = std::make_unique<RemoteSession>(args["connect"].as<std::string>());
    } else {
      EmbeddedOptions o;
      o.data_dir = args["dir"].as<std::string>();
      o.model = args["model"].as<std::string>();
      o.tokenizer = args["tokenizer"].as<std::string>();
      o.device = args["device"].as<std::string>();
      o.start_workers = !args.count("no-workers");
      o.catalog = args["catalog"].as<std::string>();
      session = std::make_unique<EmbeddedSession>(o);
    }
  } catch (const cartridgedb::Error& e) {
    std::fprintf(stderr, "%s: %s\n", info.name, e.what());
    return 1;
  }

  InterruptGuard sigint;
  Shell shell(*session, settings);
  if (scripted) {
    if (args.count("file") && shell.run_text(script) == Shell::Outcome::Error) return 1;
    if (args.count("command") && shell.run_text(args["command"].as<std::string>()) == Shell::Outcome::Error) return 1;
    return 0;
  }
  if (!::isatty(STDIN_FILENO)) return shell.run_stream(stdin) == Shell::Outcome::Error ? 1 : 0;

  std::printf("cartridge shell %s on %s. \\? for help, \\q to quit.\n", cartridgedb::version(), session->name().c_str());
  LineReader reader(history_file(),
                    [&](std::string_view before, std::string_view word) { return shell.completions(before, word); });
  shell.run_interactive(reader);
  return 0;
}

}  // namespace cdb::shell
