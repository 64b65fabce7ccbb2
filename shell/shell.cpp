#include "shell/shell.h"

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include "language/lexer.h"
#include "shell/completer.h"
#include "shell/interrupt.h"
#include "shell/line_reader.h"
#include "shell/progress_bar.h"

namespace cdb::shell {

namespace {

constexpr int kMaxFileDepth = 16;

const char* kHelp =
    "Statements end with ';' and may span lines (docs/language.md has the language).\n"
    "  \\? or \\help        this help\n"
    "  \\timing [on|off]   show how long each statement took\n"
    "  \\x [on|off]        expanded display: one block per row\n"
    "  \\i FILE            run the statements in FILE\n"
    "  \\q                 quit (Ctrl-D too)\n"
    "Ctrl-C cancels the running statement (a TRAIN ... WAIT also cancels its job).\n"
    "Tab completes keywords and corpus names.\n";

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// "on", "off" or nothing (toggle) for \timing and \x.
bool switch_value(std::string_view arg, bool current, bool& ok) {
  ok = true;
  if (arg.empty()) return !current;
  if (arg == "on") return true;
  if (arg == "off") return false;
  ok = false;
  return current;
}

}  // namespace

Shell::Shell(Session& session, ShellSettings settings) : session_(session), settings_(std::move(settings)) {}

std::vector<std::string> Shell::completions(std::string_view before, std::string_view word) {
  std::vector<std::string> corpora;
  try {
    corpora = session_.corpus_names();
  } catch (const std::exception&) {
    // Completion goes on with keywords when the corpora cannot be listed.
  }
  return complete(before, word, corpora);
}

void Shell::print_error(const StatementText& st, const std::exception& error) {
  std::fflush(stdout);
  if (const auto* pe = dynamic_cast<const cartridgedb::ParseError*>(&error)) {
    std::fprintf(stderr, "ERROR: %s\n", pe->what());
    // The statement up to the error's line, then that line with the caret.
    std::size_t pos = 0;
    for (uint32_t line = 1; line < pe->line() && pos < st.text.size(); ++line) {
      const std::size_t nl = st.text.find('\n', pos);
      if (nl == std::string::npos) break;
      std::fprintf(stderr, "%s\n", st.text.substr(pos, nl - pos).c_str());
      pos = nl + 1;
    }
    std::fprintf(stderr, "%s\n", pe->excerpt().c_str());
  } else if (dynamic_cast<const cartridgedb::Cancelled*>(&error)) {
    std::fprintf(stderr, "Cancelled: %s\n", error.what());
  } else {
    std::fprintf(stderr, "ERROR: %s\n", error.what());
  }
  std::fflush(stderr);
}

Shell::Outcome Shell::run_statement(const StatementText& st) {
  if (settings_.echo) std::printf("%s\n", st.text.c_str());
  std::fflush(stdout);
  ProgressBar bar(stderr, settings_.progress_redraw);
  bool streamed = false;
  StatementEvents events;
  // Only a table prints the answer alone: CSV and JSON wait for the whole result.
  if (settings_.print.format == Format::Table)
    events.on_token = [&](std::string_view t) {
      std::fwrite(t.data(), 1, t.size(), stdout);
      std::fflush(stdout);
      streamed = true;
    };
  events.on_progress = [&](const cartridgedb::Progress& p) { bar.update(p); };
  events.on_notice = [&](std::string_view text) {
    bar.finish();
    std::fprintf(stderr, "NOTICE: %.*s\n", static_cast<int>(text.size()), text.data());
    std::fflush(stderr);
  };
  events.is_cancelled = [] { return interrupted(); };

  clear_interrupt();
  const auto start = std::chrono::steady_clock::now();
  Outcome outcome = Outcome::Ok;
  try {
    const cartridgedb::Result r = session_.run(st.text, events);
    bar.finish();
    if (streamed && r.statement == "ASK") std::fputs("\n", stdout);
    else std::fputs(format_result(r, settings_.print).c_str(), stdout);
  } catch (const cartridgedb::Error& e) {
    bar.finish();
    if (streamed) std::fputs("\n", stdout);
    print_error(st, e);
    outcome = Outcome::Error;
  }
  clear_interrupt();
  if (settings_.timing) {
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::printf("Time: %.3f ms\n", ms);
  }
  std::fflush(stdout);
  return outcome;
}

Shell::Outcome Shell::run_file(const std::string& path) {
  if (file_depth_ >= kMaxFileDepth) {
    std::fprintf(stderr, "ERROR: \\i nested more than %d deep (does %s include itself?)\n", kMaxFileDepth, path.c_str());
    return Outcome::Error;
  }
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "ERROR: cannot read %s: %s\n", path.c_str(), std::strerror(errno));
    return Outcome::Error;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  ++file_depth_;
  const Outcome o = run_text(ss.str());
  --file_depth_;
  return o;
}

Shell::Outcome Shell::run_meta(std::string_view line) {
  line = trim(line);
  const std::size_t space = line.find_first_of(" \t");
  const std::string_view cmd = line.substr(0, space);
  const std::string_view arg = space == std::string_view::npos ? std::string_view() : trim(line.substr(space));
  bool ok = true;
  if (cmd == "\\q" || cmd == "\\quit") return Outcome::Quit;
  if (cmd == "\\?" || cmd == "\\help" || cmd == "\\h") {
    std::fputs(kHelp, stdout);
  } else if (cmd == "\\timing") {
    settings_.timing = switch_value(arg, settings_.timing, ok);
    if (ok) std::printf("Timing is %s.\n", settings_.timing ? "on" : "off");
  } else if (cmd == "\\x") {
    settings_.print.expanded = switch_value(arg, settings_.print.expanded, ok);
    if (ok) std::printf("Expanded display is %s.\n", settings_.print.expanded ? "on" : "off");
  } else if (cmd == "\\i" || cmd == "\\include") {
    if (arg.empty()) {
      std::fprintf(stderr, "ERROR: \\i needs a file name\n");
      return Outcome::Error;
    }
    return run_file(std::string(arg));
  } else {
    std::fprintf(stderr, "ERROR: invalid command %.*s; \\? lists the commands\n", static_cast<int>(cmd.size()), cmd.data());
    return Outcome::Error;
  }
  if (!ok) {
    std::fprintf(stderr, "ERROR: %.*s takes on or off, not '%.*s'\n", static_cast<int>(cmd.size()), cmd.data(),
                 static_cast<int>(arg.size()), arg.data());
    return Outcome::Error;
  }
  std::fflush(stdout);
  return Outcome::Ok;
}

Shell::Outcome Shell::feed_line(std::string_view line, std::string& buffer) {
  if (is_blank(buffer) && !trim(line).empty() && trim(line).front() == '\\') {
    buffer.clear();
    return run_meta(line);
  }
  buffer.append(line).push_back('\n');
  if (!lang::statement_complete(buffer)) return Outcome::Ok;
  Split split = split_statements(buffer);
  buffer = is_blank(split.rest) ? std::string() : std::move(split.rest);
  for (const auto& st : split.statements) {
    const Outcome o = run_statement(st);
    if (o != Outcome::Ok) {
      buffer.clear();
      return o;
    }
  }
  return Outcome::Ok;
}

Shell::Outcome Shell::finish(std::string& buffer) {
  Outcome o = Outcome::Ok;
  for (const auto& st : split_script(buffer))
    if ((o = run_statement(st)) != Outcome::Ok) break;
  buffer.clear();
  return o;
}

Shell::Outcome Shell::run_text(std::string_view text) {
  std::string buffer;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (const Outcome o = feed_line(line, buffer); o != Outcome::Ok) return o;
  }
  return finish(buffer);
}

Shell::Outcome Shell::run_stream(std::FILE* in) {
  std::string buffer, line;
  char chunk[4096];
  while (std::fgets(chunk, sizeof chunk, in)) {
    line += chunk;
    if (line.back() != '\n' && !std::feof(in)) continue;  // a line longer than the chunk
    if (line.back() == '\n') line.pop_back();
    if (const Outcome o = feed_line(line, buffer); o != Outcome::Ok) return o;
    line.clear();
  }
  if (!line.empty())
    if (const Outcome o = feed_line(line, buffer); o != Outcome::Ok) return o;
  return finish(buffer);
}

void Shell::run_interactive(LineReader& reader) {
  std::string buffer, line, typed;
  while (true) {
    const std::string prompt = session_.name() + (is_blank(buffer) ? "=> " : "-> ");
    const LineReader::Status status = reader.read(prompt, line);
    if (status == LineReader::Status::End) {
      std::fputs("\n", stdout);
      return;
    }
    if (status == LineReader::Status::Interrupted) {
      buffer.clear();
      typed.clear();
      continue;
    }
    // History holds whole statements (their lines joined) and meta-commands.
    if (!trim(line).empty()) typed += (typed.empty() ? "" : " ") + std::string(trim(line));
    const Outcome o = feed_line(line, buffer);
    if (is_blank(buffer)) {
      reader.add_history(typed);
      typed.clear();
    }
    if (o == Outcome::Quit) return;
  }
}

}  // namespace cdb::shell
