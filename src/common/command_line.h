// The start of every `cartridge` subcommand: its options parsed, a usage
// error or --help answered the same way everywhere. Header-only, so that
// only programs that parse options (and link cxxopts) include it.
#pragma once

#include <cxxopts.hpp>

#include <cstdio>
#include <optional>

namespace cdb {

// Parses argv into `args`. Returns the exit status to return at once: 2
// after a usage error ("<program>: <error>" and the help, on stderr), 0
// after the help asked for with --help (which `opts` must define); nullopt
// when the command should go on.
inline std::optional<int> parse_command_line(cxxopts::Options& opts, int argc, char** argv,
                                             cxxopts::ParseResult& args) {
  try {
    args = opts.parse(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n%s", opts.program().c_str(), e.what(), opts.help().c_str());
    return 2;
  }
  if (args.count("help")) {
    std::fputs(opts.help().c_str(), stdout);
    return 0;
  }
  return std::nullopt;
}

}  // namespace cdb
