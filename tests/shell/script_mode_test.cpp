// The shell without a terminal: -c, -f, standard input, formats, errors and
// exit status, through the real binary.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "shell_process.h"

namespace cdb::test {
namespace {

class ShellScript : public ::testing::Test {
 protected:
  // A data directory on stories260K with a corpus `farm` of two documents.
  void SetUp() override {
    const ProcessRun r = shell({"--model", stories_model(), "--tokenizer", stories_tokenizer(), "-c",
                         "CREATE CORPUS farm; ADD DOCUMENT 'Benny the goat ate the hay.' AS 'benny.txt' TO farm;"
                         "ADD DOCUMENT 'Tilly the hen laid an egg.' AS 'tilly.txt' TO farm;"});
    ASSERT_EQ(r.status, 0) << r.transcript();
  }
  ProcessRun shell(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), {"shell", dir.path().string()});
    return run_cartridge(args, input, work.path());
  }
  TempDir dir{"shell-data"}, work{"shell-work"};
};

TEST_F(ShellScript, CommandPrintsAlignedTables) {
  const ProcessRun r = shell({"-c", "SHOW DOCUMENTS IN farm; SHOW CORPORA"});
  ASSERT_EQ(r.status, 0) << r.transcript();
  EXPECT_NE(r.out.find(" benny.txt "), std::string::npos) << r.transcript();
  EXPECT_NE(r.out.find("(2 documents in 'farm')"), std::string::npos) << r.transcript();
  EXPECT_NE(r.out.find("(1 corpora)"), std::string::npos) << r.transcript();
  // Every line of a table has its column separator at the same place.
  const size_t header = r.out.find("document ");
  const size_t bar = r.out.find("|", header) - r.out.rfind('\n', header);
  const size_t row = r.out.find(" benny.txt ");
  EXPECT_EQ(r.out.find("|", row) - r.out.rfind('\n', row), bar) << r.out;
}

TEST_F(ShellScript, StandardInputTakesMultiLineStatementsAndQuotedSemicolons) {
  const ProcessRun r = shell({"--format", "csv"},
                      "CREATE CORPUS notes;\n"
                      "ADD DOCUMENT 'one; two'\n"
                      "  AS 'a,\"b\".txt'\n"
                      "  TO notes;  -- a comment; not a statement\n"
                      "SHOW DOCUMENTS IN notes\n");
  ASSERT_EQ(r.status, 0) << r.transcript();
  // CSV: the header, then the name quoted with its quotes doubled; 8 bytes
  // shows the ';' stayed inside the string.
  EXPECT_NE(r.out.find("document,bytes,"), std::string::npos) << r.transcript();
  EXPECT_NE(r.out.find("\"a,\"\"b\"\".txt\",8,"), std::string::npos) << r.transcript();
}

TEST_F(ShellScript, JsonFormatIsOneObjectPerStatement) {
  const ProcessRun r = shell({"--format", "json", "-c", "SHOW CORPORA; SHOW DOCUMENTS IN farm;"});
  ASSERT_EQ(r.status, 0) << r.transcript();
  std::istringstream lines(r.out);
  std::string line;
  std::vector<nlohmann::json> results;
  while (std::getline(lines, line)) results.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(results.size(), 2u) << r.out;
  EXPECT_EQ(results[0]["statement"], "SHOW CORPORA");
  EXPECT_EQ(results[0]["rows"][0]["corpus"], "farm");
  EXPECT_EQ(results[0]["rows"][0]["documents"], "2");
  EXPECT_EQ(results[1]["rows"].size(), 2u);
}

TEST_F(ShellScript, SyntaxErrorShowsTheStatementWithACaretAndStops) {
  const ProcessRun r = shell({"-c", "SHOW CORPORA;\nASK 'what is it'\n  USING;\nCREATE CORPUS never;"});
  EXPECT_EQ(r.status, 1) << r.transcript();
  EXPECT_NE(r.out.find("(1 corpora)"), std::string::npos) << r.transcript();
  EXPECT_NE(r.err.find("ERROR: syntax error at 2:8: expected a corpus name, found ';'"), std::string::npos) << r.transcript();
  EXPECT_NE(r.err.find("ASK 'what is it'\n  USING;\n       ^\n"), std::string::npos) << r.transcript();
  const ProcessRun after = shell({"-c", "SHOW CORPORA"});
  EXPECT_EQ(after.out.find("never"), std::string::npos) << after.transcript();
}

TEST_F(ShellScript, OtherErrorsExitNonZeroWithTheMessage) {
  const ProcessRun r = shell({}, "SHOW CORPORA;\nDROP CORPUS nope;\nSHOW JOBS;\n");
  EXPECT_EQ(r.status, 1) << r.transcript();
  EXPECT_NE(r.err.find("ERROR: "), std::string::npos) << r.transcript();
  EXPECT_NE(r.err.find("nope"), std::string::npos) << r.transcript();
  EXPECT_EQ(r.out.find("jobs)"), std::string::npos) << r.transcript();
}

TEST_F(ShellScript, FileRunsMetaCommandsAndIncludes) {
  {
    std::ofstream(work.path() / "inner.sql") << "CREATE CORPUS included;\n";
    std::ofstream(work.path() / "main.sql") << "\\timing on\n\\i inner.sql\n\\x\nSHOW CORPORA;\n";
  }
  const ProcessRun r = shell({"-f", "main.sql"});
  ASSERT_EQ(r.status, 0) << r.transcript();
  EXPECT_NE(r.out.find("Timing is on."), std::string::npos) << r.transcript();
  EXPECT_NE(r.out.find("Time: "), std::string::npos) << r.transcript();
  EXPECT_NE(r.out.find("-[ RECORD 2 ]"), std::string::npos) << r.transcript();
  EXPECT_NE(r.out.find("corpus            | included"), std::string::npos) << r.transcript();
  const ProcessRun missing = shell({"-c", "\\i nowhere.sql"});
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("cannot read nowhere.sql"), std::string::npos) << missing.transcript();
}

TEST_F(ShellScript, TrainWaitReportsProgressLinesThenAskAnswers) {
  const ProcessRun r = shell({"-c",
                       "TRAIN CARTRIDGE FOR farm WITH (steps = 3, conversations = 2, batch_size = 2, "
                       "max_new_tokens = 8, tokens = 8) WAIT;\n"
                       "ASK 'Benny the goat' USING farm WITH (max_tokens = 8);"});
  ASSERT_EQ(r.status, 0) << r.transcript();
  // Not a terminal: one line per report, no carriage returns.
  EXPECT_EQ(r.err.find('\r'), std::string::npos) << r.transcript();
  EXPECT_NE(r.err.find("step 3/3 loss "), std::string::npos) << r.transcript();
  EXPECT_NE(r.err.find("tok/s ETA "), std::string::npos) << r.transcript();
  EXPECT_NE(r.err.find("100% job 1 done"), std::string::npos) << r.transcript();
  // The answer follows the WAIT's table.
  const size_t wait_end = r.out.find("(job 1 done");
  ASSERT_NE(wait_end, std::string::npos) << r.transcript();
  EXPECT_GT(r.out.size(), r.out.find('\n', wait_end) + 2) << r.transcript();
}

TEST_F(ShellScript, ExecIsTheScriptModeUnderItsOldName) {
  const ProcessRun usage = run_cartridge({"exec", dir.path().string()}, "", work.path());
  EXPECT_EQ(usage.status, 2) << usage.transcript();
  const ProcessRun r = run_cartridge({"exec", dir.path().string(), "-c", "SHOW CORPORA"}, "", work.path());
  EXPECT_EQ(r.status, 0) << r.transcript();
  EXPECT_NE(r.out.find(" farm "), std::string::npos) << r.transcript();
}

TEST(ShellOpen, DefaultDirectoryAndModel) {
  TempDir work("shell-default");
  const ProcessRun r = run_cartridge({"shell", "-c", "SHOW MODEL"}, "", work.path());
  ASSERT_EQ(r.status, 0) << r.transcript();
  EXPECT_TRUE(std::filesystem::exists(work.path() / "cartridge-data" / "catalog.sqlite"));
  EXPECT_NE(r.out.find("stories260K.bin"), std::string::npos) << r.transcript();
}

TEST(ShellOpen, NoModelSaysHowToGiveOne) {
  TempDir work("shell-nomodel");
  std::filesystem::create_directories(work.path() / "models");
  const ProcessRun r = run_cartridge({"shell", "fresh", "-c", "SHOW MODEL"}, "", work.path(),
                              "CDB_MODELS=" + shell_quote((work.path() / "models").string()));
  EXPECT_EQ(r.status, 1) << r.transcript();
  EXPECT_NE(r.err.find("give one with --model"), std::string::npos) << r.transcript();
  EXPECT_NE(r.err.find("CDB_MODELS"), std::string::npos) << r.transcript();
  const ProcessRun bad = run_cartridge({"shell", "--format", "xml", "-c", "SHOW MODEL"}, "", work.path());
  EXPECT_EQ(bad.status, 2) << bad.transcript();
}

}  // namespace
}  // namespace cdb::test
