// The shell on a pseudo-terminal, typed into as a person would: prompts,
// completion, multi-line statements, history, meta-commands, Ctrl-C.
#include <gtest/gtest.h>

#include "shell_process.h"

namespace cdb::test {
namespace {

class ShellInteractive : public ::testing::Test {
 protected:
  void SetUp() override {
    const ProcessRun r = run_cartridge({"shell", data().string(), "--model", stories_model(), "--tokenizer",
                                 stories_tokenizer(), "-c",
                                 "CREATE CORPUS farmyard; ADD DOCUMENT 'Benny the goat ate the hay.' TO farmyard;"},
                                "", home.path());
    ASSERT_EQ(r.status, 0) << r.transcript();
  }
  std::filesystem::path data() const { return home.path() / "db"; }
  // Waits for `needle` after `at` (updated to just past it); fails with the transcript.
  void expect(PtyShell& sh, const std::string& needle, size_t& at, double seconds = 60) {
    const size_t end = sh.wait_for(needle, at, seconds);
    ASSERT_NE(end, std::string::npos) << "no '" << needle << "' after offset " << at << " in:\n" << sh.transcript();
    at = end;
  }
  // Types `keys`, then waits for `until`.
  void type(PtyShell& sh, const std::string& keys, const std::string& until, size_t& at) {
    sh.send(keys);
    expect(sh, until, at);
  }
  // Waits for the prompt, then ends the session with `keys`: keys sent
  // before readline is back at the prompt land in the terminal's cooked
  // mode, where Ctrl-D is no character and can be lost.
  void quit(PtyShell& sh, size_t& at, const std::string& keys = "\\q\r") {
    expect(sh, "db=> ", at);
    sh.send(keys);
    EXPECT_EQ(sh.wait_exit(), 0) << sh.transcript();
  }
  TempDir home{"shell-pty"};
};

TEST_F(ShellInteractive, CompletesKeywordsAndCorpusNames) {
  PtyShell sh({"shell", data().string()}, home.path());
  size_t at = 0;
  expect(sh, "db=> ", at);
  type(sh, "SHO\t", "SHOW ", at);
  type(sh, "DOCUMENTS IN far\t", "farmyard", at);
  type(sh, ";\r", "(1 documents in 'farmyard')", at);
  quit(sh, at);
}

TEST_F(ShellInteractive, MultiLineStatementsHistoryAndMetaCommands) {
  std::ofstream(home.path() / "more.sql") << "CREATE CORPUS fromfile;\n";
  {
    PtyShell sh({"shell", data().string()}, home.path());
    size_t at = 0;
    expect(sh, "db=> ", at);
    type(sh, "SHOW\r", "db-> ", at);
    type(sh, "CORPORA;\r", "(1 corpora)", at);
    expect(sh, "db=> ", at);
    // Up arrow: the whole statement again.
    type(sh, "\x1b[A", "SHOW CORPORA;", at);
    type(sh, "\r", "(1 corpora)", at);
    type(sh, "\\timing\r", "Timing is on.", at);
    type(sh, "\\i " + (home.path() / "more.sql").string() + "\r", "created corpus 'fromfile'", at);
    expect(sh, "Time: ", at);
    type(sh, "\\x\r", "Expanded display is on.", at);
    type(sh, "SHOW CORPORA;\r", "-[ RECORD 2 ]", at);
    type(sh, "\\?\r", "\\i FILE", at);
    quit(sh, at, "\x04");  // Ctrl-D
  }
  const std::string history = slurp(home.path() / "history");
  EXPECT_NE(history.find("SHOW CORPORA;"), std::string::npos) << history;
  EXPECT_NE(history.find("\\i " + (home.path() / "more.sql").string()), std::string::npos) << history;
  // The next session starts with that history.
  PtyShell again({"shell", data().string()}, home.path());
  size_t at = 0;
  expect(again, "db=> ", at);
  // Newest first: \?, then the SHOW CORPORA typed after \x.
  type(again, "\x1b[A\x1b[A\r", "(2 corpora)", at);
  quit(again, at);
}

TEST_F(ShellInteractive, CtrlCCancelsTheRunningStatementNotTheShell) {
  PtyShell sh({"shell", data().string()}, home.path());
  size_t at = 0;
  expect(sh, "db=> ", at);
  // At the prompt Ctrl-C drops what was typed.
  type(sh, "SHOW CORP", "SHOW CORP", at);
  type(sh, "\x03", "db=> ", at);
  type(sh, "SHOW JOBS;\r", "(0 jobs)", at);
  // A TRAIN ... WAIT far too long to finish: the bar is drawn, Ctrl-C stops it.
  type(sh, "TRAIN CARTRIDGE FOR farmyard WITH (steps = 100000, conversations = 4, batch_size = 2) WAIT;\r", "job 1 ", at);
  type(sh, "\x03", "Cancelled: ", at);
  expect(sh, "db=> ", at);
  // The job itself stops after its current step.
  type(sh, "WAIT JOB 1;\r", "job 1 was cancelled", at);
  type(sh, "SHOW JOBS;\r", "cancelled", at);
  expect(sh, "(1 jobs)", at);
  quit(sh, at);
}

}  // namespace
}  // namespace cdb::test
