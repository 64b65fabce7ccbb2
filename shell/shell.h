// The shell proper: reads lines (typed, from a file, from -c), runs the
// meta-commands and the statements they complete, prints results, timing,
// progress and errors. The same code serves the interactive prompt and
// scripts, so they behave the same.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include "shell/result_printer.h"
#include "shell/session.h"
#include "shell/statement_splitter.h"

namespace cdb::shell {

class LineReader;

struct ShellSettings {
  PrintOptions print;
  bool timing = false;
  bool echo = false;             // print each statement before running it
  bool progress_redraw = false;  // stderr is a terminal: redraw the bar in place
};

class Shell {
 public:
  // `session` must outlive the shell.
  Shell(Session& session, ShellSettings settings);

  enum class Outcome { Ok, Error, Quit };

  // A script's text (a -c argument, a file's content): statements and
  // meta-commands, stopping at the first error.
  Outcome run_text(std::string_view text);
  // Lines from `in` (standard input that is not a terminal) until its end.
  Outcome run_stream(std::FILE* in);
  // The prompt loop, until \q or Ctrl-D. Errors are shown and reading goes on.
  void run_interactive(LineReader& reader);

  // Completion candidates for the line reader.
  std::vector<std::string> completions(std::string_view before, std::string_view word);

 private:
  // Accepts one line into `buffer`: a meta-command at the start of a
  // statement, or text, running each statement the line completes.
  Outcome feed_line(std::string_view line, std::string& buffer);
  // What is left in `buffer` at the end of a script: its last statement.
  Outcome finish(std::string& buffer);
  Outcome run_statement(const StatementText& statement);
  Outcome run_meta(std::string_view line);
  Outcome run_file(const std::string& path);
  void print_error(const StatementText& statement, const std::exception& error);

  Session& session_;
  ShellSettings settings_;
  int file_depth_ = 0;  // \i nesting, bounded so that a file including itself stops
};

}  // namespace cdb::shell
