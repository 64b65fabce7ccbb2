// build/bin/cartridge: the command-line entry point. Each subcommand lives in
// its own cmd_<name>.cpp and is listed in kCommands below.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string_view>

#include "cli/commands.h"
#include "common/error.h"

namespace {

struct Command {
  const char* name;
  int (*run)(int argc, char** argv);
  const char* help;
};

constexpr Command kCommands[] = {
    // {"name", cdb::cli::cmd_name, "one-line description"},
    CDB_CLI_COMMANDS
};

void usage(FILE* out) {
  std::fprintf(out, "usage: cartridge <command> [options]\n\ncommands:\n");
  for (const auto& c : kCommands) std::fprintf(out, "  %-14s %s\n", c.name, c.help);
  std::fprintf(out, "\n'cartridge <command> --help' describes a command's options.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  for (const auto& c : kCommands) {
    if (std::string_view(argv[1]) == c.name) {
      try {
        return c.run(argc - 1, argv + 1);
      } catch (const cdb::Error& e) {
        std::fprintf(stderr, "cartridge %s: error: %s\n", c.name, e.what());
        return 1;
      } catch (const std::exception& e) {
        std::fprintf(stderr, "cartridge %s: internal error: %s\n", c.name, e.what());
        return 3;
      }
    }
  }
  std::fprintf(stderr, "cartridge: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return 2;
}
