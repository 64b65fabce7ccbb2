#include "shell/line_reader.h"

#include <poll.h>
#include <readline/history.h>
#include <readline/readline.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "shell/interrupt.h"

namespace cdb::shell {

namespace {

// readline's line and completion callbacks take no user pointer, so they
// reach the reader through this; the constructor and destructor set it.
LineReader* g_reader = nullptr;

constexpr int kHistoryLines = 1000;

char* copy(std::string_view s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (!p) return nullptr;
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

}  // namespace

LineReader::LineReader(std::string history_file, Completer completer)
    : history_file_(std::move(history_file)), completer_(std::move(completer)) {
  if (g_reader) throw std::logic_error("only one LineReader at a time");
  g_reader = this;
  rl_readline_name = "cartridge";
  // The shell handles SIGINT itself (a flag); readline must not install its own.
  rl_catch_signals = 0;
  rl_attempted_completion_function = &LineReader::on_complete;
  // ',' and '(' separate words too: ASK 'q' USING a,b<TAB>.
  rl_completer_word_break_characters = const_cast<char*>(" \t\n(),;=");
  using_history();
  stifle_history(kHistoryLines);
  if (!history_file_.empty()) read_history(history_file_.c_str());
}

LineReader::~LineReader() {
  if (!history_file_.empty()) {
    write_history(history_file_.c_str());
    history_truncate_file(history_file_.c_str(), kHistoryLines);
  }
  rl_attempted_completion_function = nullptr;
  g_reader = nullptr;
}

void LineReader::on_line(char* line) {
  LineReader* r = g_reader;
  r->done_ = true;
  r->eof_ = line == nullptr;
  r->line_ = line ? line : "";
  std::free(line);
  // Removed here, before the next prompt: readline would otherwise print a
  // prompt for a line that is not being read.
  rl_callback_handler_remove();
}

char** LineReader::on_complete(const char* text, int start, int) {
  rl_attempted_completion_over = 1;  // never fall back to file names
  std::vector<std::string> found;
  try {
    found = g_reader->completer_(std::string_view(rl_line_buffer, static_cast<std::size_t>(start)), text);
  } catch (...) {
    return nullptr;  // an exception must not unwind through readline's C frames
  }
  if (found.empty()) return nullptr;
  // matches[0] replaces the word: the longest common prefix of all.
  std::string common = found[0];
  for (const auto& f : found) {
    std::size_t n = 0;
    while (n < common.size() && n < f.size() && common[n] == f[n]) ++n;
    common.resize(n);
  }
  if (common.size() < std::strlen(text)) common = text;
  auto** matches = static_cast<char**>(std::calloc(found.size() + 2, sizeof(char*)));
  if (!matches) return nullptr;
  matches[0] = copy(found.size() == 1 ? found[0] : common);
  if (found.size() > 1)
    for (std::size_t i = 0; i < found.size(); ++i) matches[i + 1] = copy(found[i]);
  return matches;
}

LineReader::Status LineReader::read(const std::string& prompt, std::string& line) {
  done_ = eof_ = false;
  rl_callback_handler_install(prompt.c_str(), &LineReader::on_line);
  pollfd p{fileno(rl_instream ? rl_instream : stdin), POLLIN, 0};
  while (!done_) {
    // SIGINT may be delivered to any of the engine's threads, leaving this
    // poll uninterrupted: the flag is checked at least every 100 ms.
    const int n = ::poll(&p, 1, 100);
    if (interrupted()) {
      clear_interrupt();
      rl_free_line_state();
      rl_callback_sigcleanup();
      rl_cleanup_after_signal();
      rl_callback_handler_remove();
      std::fputs("\n", rl_outstream ? rl_outstream : stdout);
      std::fflush(rl_outstream ? rl_outstream : stdout);
      return Status::Interrupted;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      rl_callback_handler_remove();
      return Status::End;
    }
    if (n > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR))) rl_callback_read_char();
  }
  if (eof_) return Status::End;
  line = line_;
  return Status::Line;
}

void LineReader::add_history(const std::string& entry) {
  if (entry.empty()) return;
  const HIST_ENTRY* last = history_length > 0 ? history_get(history_base + history_length - 1) : nullptr;
  if (last && entry == last->line) return;  // no runs of the same entry
  ::add_history(entry.c_str());
}

}  // namespace cdb::shell
