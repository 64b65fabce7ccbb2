// Line editing for the interactive shell: GNU readline through its
// callback interface, so that Ctrl-C at the prompt drops the line being
// typed (the shell's SIGINT handler only sets a flag; see interrupt.h)
// instead of killing the process; history kept in a file; tab completion
// from a function the shell provides.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace cdb::shell {

class LineReader {
 public:
  // The candidates for `word`, given the line's text before it.
  using Completer = std::function<std::vector<std::string>(std::string_view before, std::string_view word)>;

  // Reads (and at destruction writes) `history_file` when not empty. Only
  // one LineReader may exist at a time: readline is one per process.
  LineReader(std::string history_file, Completer completer);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  enum class Status { Line, Interrupted, End };
  // One line without its newline. Interrupted: Ctrl-C (the typed text is
  // dropped); End: Ctrl-D on an empty line, or the terminal closed.
  Status read(const std::string& prompt, std::string& line);

  void add_history(const std::string& entry);

 private:
  static void on_line(char* line);
  static char** on_complete(const char* text, int start, int end);

  std::string history_file_;
  Completer completer_;
  bool done_ = false, eof_ = false;
  std::string line_;
};

}  // namespace cdb::shell
