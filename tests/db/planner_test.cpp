// The planner's choices: Cartridge vs ICL vs an error naming the training
// job's state, the canonical composition order, and that a Cartridge of
// another model is never used. Cartridges here are stored directly (the
// prefill KV of the corpus), so no training runs.
#include <gtest/gtest.h>

#include "residency/residency_manager.h"
#include "planner_fixture.h"

namespace cdb::test {
namespace {

class Planner : public ::testing::Test {
 protected:
  TempDir tmp;
  // No workers: queued jobs stay queued, so their state is what we set.
  Session s{tmp.path() / "db", stories_options(false)};

  void SetUp() override {
    s.script(pip_and_lola_script());
  }
};

TEST_F(Planner, IclWhenNoCartridgeAndItFits) {
  auto r = s.run("EXPLAIN ASK 'Pip was' USING pip");
  ASSERT_EQ(r.rows.size(), 2u);  // the corpus, then the question
  EXPECT_EQ(r.at(0, "source"), "icl");
  EXPECT_EQ(r.at(0, "location"), "prompt");
  EXPECT_NE(r.at(0, "note").find("no training job"), std::string::npos) << r.at(0, "note");
  EXPECT_EQ(r.at(1, "source"), "question");
  // BOS, then the corpus's tokens, then the question.
  const int64_t corpus_tokens = static_cast<int64_t>(s.db->tokenizer().encode(kPipText, false).size());
  EXPECT_EQ(r.at(0, "position"), "1");
  EXPECT_EQ(r.at(0, "tokens"), std::to_string(corpus_tokens));
  EXPECT_EQ(r.at(1, "position"), std::to_string(1 + corpus_tokens));
}

TEST_F(Planner, CartridgeWhenReadyNewestWins) {
  auto old = s.store_cartridge("pip", 8);
  auto newer = s.store_cartridge("pip", 12);
  auto r = s.run("EXPLAIN ASK 'Pip was' USING pip");
  EXPECT_EQ(r.at(0, "source"), "cartridge");
  EXPECT_EQ(r.at(0, "cartridge"), std::to_string(newer.id));
  EXPECT_EQ(r.at(0, "tokens"), "12");
  EXPECT_EQ(r.at(0, "location"), "disk");
  EXPECT_EQ(r.at(1, "position"), "12");  // the question right after the Cartridge, no BOS
  EXPECT_NE(old.id, newer.id);
  // After an ASK the Cartridge is resident.
  s.run("ASK 'Pip was' USING pip WITH (max_tokens = 3)");
  EXPECT_EQ(s.run("EXPLAIN ASK 'Pip was' USING pip").at(0, "location"), "device");
}

TEST_F(Planner, ModeIclForcesTextAndModeCartridgeRequiresOne) {
  s.store_cartridge("pip", 8);
  EXPECT_EQ(s.run("EXPLAIN ASK 'Pip' USING pip WITH (mode = 'icl')").at(0, "source"), "icl");
  EXPECT_EQ(s.run("EXPLAIN ASK 'Pip' USING pip WITH (mode = 'cartridge')").at(0, "source"), "cartridge");
  try {
    s.run("EXPLAIN ASK 'Pip' USING pip, lola WITH (mode = 'cartridge')");
    FAIL() << "lola has no Cartridge";
  } catch (const NotFound& e) {
    EXPECT_NE(std::string(e.what()).find("corpus 'lola' has no ready Cartridge"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("TRAIN CARTRIDGE FOR lola"), std::string::npos) << e.what();
  }
}

TEST_F(Planner, TooLongForIclNamesTheJobState) {
  std::string story;
  while (s.db->tokenizer().encode(story, false).size() < 600) story += std::string(kLolaText) + " ";
  s.script("CREATE CORPUS big; ADD DOCUMENT '" + story + "' AS 'long.txt' TO big;");
  try {
    s.run("ASK 'Lola' USING big");
    FAIL() << "600 tokens do not fit a 512-token window";
  } catch (const ResourceExhausted& e) {
    EXPECT_NE(std::string(e.what()).find("no training job"), std::string::npos) << e.what();
  }
  auto job = s.run("TRAIN CARTRIDGE FOR big WITH (steps = 5)");
  const std::string id = job.at(0, "job");
  try {
    s.run("EXPLAIN ASK 'Lola' USING big");
    FAIL();
  } catch (const ResourceExhausted& e) {
    EXPECT_NE(std::string(e.what()).find("training job " + id + " is queued"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("do not fit the model's 512-token context window"), std::string::npos) << e.what();
  }
  s.run("CANCEL JOB " + id);
  try {
    s.run("EXPLAIN ASK 'Lola' USING big WITH (mode = 'cartridge')");
    FAIL();
  } catch (const NotFound& e) {
    EXPECT_NE(std::string(e.what()).find("training job " + id + " is cancelled"), std::string::npos) << e.what();
  }
}

TEST_F(Planner, OtherModelsCartridgeIsNeverUsed) {
  // Newer than ours and of another model: still refused.
  auto mine = s.store_cartridge("pip", 8);
  auto other = s.store_cartridge("pip", 10, std::string(32, 'f'));
  ASSERT_GT(other.id, mine.id);
  auto r = s.run("EXPLAIN ASK 'Pip' USING pip");
  EXPECT_EQ(r.at(0, "cartridge"), std::to_string(mine.id));
  // Only the other model's: ICL, and mode 'cartridge' refuses.
  s.store_cartridge("lola", 8, std::string(32, 'e'));
  EXPECT_EQ(s.run("EXPLAIN ASK 'Lola' USING lola").at(0, "source"), "icl");
  EXPECT_THROW(s.run("ASK 'Lola' USING lola WITH (mode = 'cartridge')"), NotFound);
  auto shown = s.run("SHOW CARTRIDGES FOR lola");
  ASSERT_EQ(shown.rows.size(), 1u);
  EXPECT_EQ(shown.at(0, "model").rfind("other", 0), 0u);
}

TEST_F(Planner, CompositionOrderIsByCorpusIdWhateverTheUsingOrder) {
  auto a = s.store_cartridge("pip", 8);    // pip was created first
  auto b = s.store_cartridge("lola", 12);
  auto ab = s.run("EXPLAIN ASK 'Max' USING pip, lola");
  auto ba = s.run("EXPLAIN ASK 'Max' USING lola, pip");
  for (const auto* r : {&ab, &ba}) {
    ASSERT_EQ(r->rows.size(), 3u);
    EXPECT_EQ(r->at(0, "corpus"), "pip");
    EXPECT_EQ(r->at(0, "position"), "0");
    EXPECT_EQ(r->at(0, "cartridge"), std::to_string(a.id));
    EXPECT_EQ(r->at(1, "corpus"), "lola");
    EXPECT_EQ(r->at(1, "position"), "8");
    EXPECT_EQ(r->at(1, "cartridge"), std::to_string(b.id));
    EXPECT_EQ(r->at(2, "position"), "20");
  }
  // Same plan, same cache entry, same answer.
  auto x = s.run("ASK 'Max' USING pip, lola WITH (max_tokens = 8)");
  auto y = s.run("ASK 'Max' USING lola, pip WITH (max_tokens = 8)");
  EXPECT_EQ(x.text, y.text);
  auto st = s.db->residency().stats();
  EXPECT_EQ(st.device.misses, 1);
  EXPECT_EQ(st.device.hits, 1);
}

TEST_F(Planner, MixedCartridgeAndIcl) {
  auto a = s.store_cartridge("lola", 8);
  auto r = s.run("EXPLAIN ASK 'Max' USING pip, lola");
  // Cartridges first (composed prefix), then ICL text, then the question.
  EXPECT_EQ(r.at(0, "corpus"), "lola");
  EXPECT_EQ(r.at(0, "source"), "cartridge");
  EXPECT_EQ(r.at(1, "corpus"), "pip");
  EXPECT_EQ(r.at(1, "source"), "icl");
  EXPECT_EQ(r.at(1, "position"), "8");  // no BOS after a Cartridge
  auto ans = s.run("ASK 'Max' USING pip, lola WITH (max_tokens = 4)");
  EXPECT_NE(ans.at(0, "sources").find("pip: icl"), std::string::npos);
  EXPECT_NE(ans.at(0, "sources").find("lola: cartridge " + std::to_string(a.id)), std::string::npos);
}

TEST_F(Planner, AskStreamsAndSessionSettingsApply) {
  std::string streamed;
  ExecCallbacks cb;
  cb.on_token = [&](std::string_view t) { streamed += t; };
  s.run("SET max_tokens = 5");
  auto r = s.run("ASK 'Pip was a' USING pip", cb);
  EXPECT_EQ(streamed, r.text);
  EXPECT_LE(std::stoi(r.at(0, "tokens")), 5);
  EXPECT_GT(std::stoi(r.at(0, "tokens")), 0);
  // The question's own option overrides the session.
  auto longer = s.run("ASK 'Pip was a' USING pip WITH (max_tokens = 9)");
  EXPECT_GE(std::stoi(longer.at(0, "tokens")), std::stoi(r.at(0, "tokens")));
  EXPECT_EQ(longer.text.rfind(r.text, 0), 0u);  // greedy: the shorter answer is its prefix
  // Greedy is deterministic.
  EXPECT_EQ(s.run("ASK 'Pip was a' USING pip").text, r.text);
}

TEST_F(Planner, OptionErrorsPointAtTheOption) {
  const std::string bad = "CREATE CORPUS c WITH (description = 'x', colour = 'red')";
  try {
    s.run(bad);
    FAIL();
  } catch (const ParseError& e) {
    EXPECT_EQ(e.offset(), bad.find("colour"));
    EXPECT_NE(std::string(e.what()).find("colour"), std::string::npos);
  }
  const std::string bad2 = "ASK 'q' USING pip WITH (max_tokens = 'many')";
  try {
    s.run(bad2);
    FAIL();
  } catch (const ParseError& e) {
    EXPECT_EQ(e.offset(), bad2.find("'many'"));
  }
  const std::string bad3 = "TRAIN CARTRIDGE FOR pip WITH (steps = 0)";
  try {
    s.run(bad3);
    FAIL();
  } catch (const ParseError& e) {
    EXPECT_EQ(e.offset(), bad3.find("0)"));
  }
  EXPECT_THROW(s.run("SET colour = 1"), UndefinedObject);  // 42704 over the wire
  EXPECT_THROW(s.run("ASK 'q' USING nosuch"), NotFound);
  EXPECT_THROW(s.run("CREATE CORPUS pip"), InvalidArgument);
}

TEST_F(Planner, ShowAndSelect) {
  auto c = s.run("SHOW CORPORA");
  ASSERT_EQ(c.rows.size(), 2u);
  for (size_t i = 0; i < c.rows.size(); ++i) EXPECT_EQ(c.at(i, "documents"), "1");
  EXPECT_EQ(s.run("SHOW DOCUMENTS IN lola").at(0, "document"), "lola.txt");
  EXPECT_EQ(s.run("SHOW MODEL").rows.at(9).at(1), "512");  // context
  auto sel = s.run("SELECT name FROM corpora ORDER BY id DESC");
  ASSERT_EQ(sel.rows.size(), 2u);
  EXPECT_EQ(sel.rows[0][0], "lola");
  EXPECT_THROW(s.run("SELECT nosuchcolumn FROM corpora"), ParseError);
  EXPECT_EQ(s.run("SHOW CACHE").rows.size(), 2u);
}

TEST_F(Planner, DocumentsVersionsAndDrop) {
  auto r = s.run("ADD DOCUMENT 'Max had a blue kite.' AS 'max.txt' TO lola");
  EXPECT_EQ(r.at(0, "version"), "2");
  EXPECT_EQ(s.run("REMOVE DOCUMENT 'max.txt' FROM lola").at(0, "version"), "3");
  EXPECT_THROW(s.run("REMOVE DOCUMENT 'max.txt' FROM lola"), NotFound);
  // Same name, other text: refused.
  EXPECT_THROW(s.run("ADD DOCUMENT 'Other.' AS 'lola.txt' TO lola"), InvalidArgument);
  s.store_cartridge("lola", 8);
  s.run("DROP CORPUS lola");
  EXPECT_EQ(s.run("SHOW CORPORA").rows.size(), 1u);
  EXPECT_EQ(s.run("SHOW CARTRIDGES").rows.size(), 0u);
  EXPECT_THROW(s.run("SHOW DOCUMENTS IN lola"), NotFound);
}

}  // namespace
// columns() (Describe without running) agrees with what each statement
// returns when it runs, and runs nothing itself.
TEST(Describe, ColumnsWithoutRunningEqualTheResultsColumns) {
  TempDir tmp;
  Session s(tmp.path() / "db", stories_options(/*workers=*/false));
  const std::vector<std::string> script = {
      "CREATE CORPUS pip WITH (auto_train = false)",
      "ADD DOCUMENT '" + std::string(kPipText) + "' AS 'pip.txt' TO pip",
      "SHOW CORPORA",
      "SHOW DOCUMENTS IN pip",
      "SHOW CARTRIDGES",
      "SHOW CACHE",
      "SHOW MODEL",
      "SET max_tokens = 4",
      "EXPLAIN ASK 'Pip' USING pip",
      "ASK 'Pip' USING pip",
      "SELECT name, id FROM corpora",
      "TRAIN CARTRIDGE FOR pip WITH (steps = 1)",
      "SHOW JOBS",
      "CANCEL JOB 1",
      "REMOVE DOCUMENT 'pip.txt' FROM pip",
      "DROP CORPUS pip",
  };
  for (const auto& text : script) {
    const lang::Statement st = lang::parse_statement(text);
    const size_t jobs = s.db->jobs().table().list().size();
    const std::vector<std::string> described = s.exec->columns(st);
    EXPECT_EQ(s.db->jobs().table().list().size(), jobs) << text << ": columns() must not run it";
    EXPECT_EQ(described, s.exec->execute(st).columns) << text;
  }
  EXPECT_THROW(s.exec->columns(lang::parse_statement("SELECT nope FROM corpora")), ParseError);
}

}  // namespace cdb::test
