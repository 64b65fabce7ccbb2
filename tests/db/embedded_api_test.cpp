// End to end through the public header: open with stories260K, ASK with
// the answer streamed through the callback, a Cartridge trained and used,
// typed errors with positions, and a reopen that uses the recorded model.
#include <gtest/gtest.h>

#include "cartridgedb/cartridgedb.h"
#include "common/models_dir.h"
#include "support/temp_dir.h"

namespace cdb::test {
namespace {

cartridgedb::OpenOptions stories() {
  cartridgedb::OpenOptions o;
  o.model_path = model_file("stories260K/stories260K.bin").string();
  o.tokenizer_path = model_file("stories260K/tok512.bin").string();
  return o;
}

TEST(EmbeddedApi, AskStreamsTrainsAndReopens) {
  TempDir tmp;
  const std::string dir = (tmp.path() / "db").string();
  std::string fingerprint, cartridge_answer;
  {
    auto db = cartridgedb::Database::open(dir, stories());
    fingerprint = db->model_fingerprint();
    EXPECT_EQ(fingerprint.size(), 32u);
    std::vector<std::string> done;
    cartridgedb::Callbacks cb;
    cb.on_result = [&](const cartridgedb::Result& r) { done.push_back(r.statement); };
    auto rs = db->execute_script(
        "CREATE CORPUS pip WITH (cartridge_tokens = 10);"
        "ADD DOCUMENT 'Pip was a small green frog. Pip liked to jump in the pond with his friend Sam.' TO pip;",
        cb);
    ASSERT_EQ(rs.size(), 2u);
    EXPECT_EQ(done, (std::vector<std::string>{"CREATE CORPUS", "ADD DOCUMENT"}));

    std::string streamed;
    int pieces = 0;
    cartridgedb::Callbacks stream;
    stream.on_token = [&](std::string_view t) {
      streamed += t;
      ++pieces;
    };
    auto icl = db->execute("ASK 'Pip was a' USING pip WITH (max_tokens = 12)", stream);
    EXPECT_EQ(icl.statement, "ASK");
    EXPECT_GT(pieces, 1);
    EXPECT_EQ(streamed, icl.text);
    EXPECT_EQ(icl.at(0, "sources"), "pip: icl");

    int reports = 0;
    cartridgedb::Callbacks wait;
    wait.on_progress = [&](const cartridgedb::Progress& p) {
      ++reports;
      EXPECT_EQ(p.job, 1);
    };
    auto t = db->execute("TRAIN CARTRIDGE FOR pip WITH (steps = 3, conversations = 4, batch_size = 4, max_new_tokens = 16) WAIT",
                         wait);
    EXPECT_EQ(t.at(0, "state"), "done");
    EXPECT_GT(reports, 2);

    streamed.clear();
    auto c = db->execute("ASK 'Pip was a' USING pip WITH (max_tokens = 12)", stream);
    EXPECT_EQ(streamed, c.text);
    EXPECT_EQ(c.at(0, "sources").rfind("pip: cartridge", 0), 0u) << c.at(0, "sources");
    cartridge_answer = c.text;

    try {
      db->execute("ASK 'q'\nUSING pip WITH (tempreature = 1)");
      FAIL();
    } catch (const cartridgedb::ParseError& e) {
      EXPECT_EQ(e.kind(), cartridgedb::ErrorKind::Parse);
      EXPECT_EQ(e.line(), 2u);
      EXPECT_EQ(e.column(), 17u);
      EXPECT_NE(e.excerpt().find("^"), std::string::npos);
    }
    EXPECT_THROW(db->execute("ASK 'q' USING nosuch"), cartridgedb::NotFound);
    EXPECT_THROW(db->execute("SHOW TABLES"), cartridgedb::ParseError);
    EXPECT_THROW(db->execute("SHOW JOBS; SHOW CORPORA"), cartridgedb::ParseError);  // one statement only
    // The directory is locked while open.
    EXPECT_THROW(cartridgedb::Database::open(dir, stories()), cartridgedb::IoError);
  }
  // Reopen without a model: the recorded one, the same fingerprint, the
  // same Cartridge, the same greedy answer.
  auto db = cartridgedb::Database::open(dir);
  EXPECT_EQ(db->model_fingerprint(), fingerprint);
  EXPECT_EQ(db->execute("ASK 'Pip was a' USING pip WITH (max_tokens = 12)").text, cartridge_answer);
  EXPECT_THROW(cartridgedb::Database::open((tmp.path() / "fresh").string()), cartridgedb::InvalidArgument);
}

// SET belongs to a session: each of new_session() has its own values, and
// the handle's own session (execute) is a third one.
TEST(EmbeddedApi, AFailedTrainingJobIsAJobFailedErrorNotAnInternalOne) {
  TempDir tmp;
  auto db = cartridgedb::Database::open((tmp.path() / "db").string(), stories());
  // A description longer than the model's window: self-study fails on the
  // worker with no room for a chunk of the corpus.
  std::string wordy;
  for (int i = 0; i < 200; ++i) wordy += "Pip the frog. ";
  db->execute_script("CREATE CORPUS wordy WITH (description = '" + wordy + "'); ADD DOCUMENT 'Pip jumps.' TO wordy;");
  try {
    db->execute("TRAIN CARTRIDGE FOR wordy WITH (steps = 1) WAIT");
    FAIL() << "the job succeeded";
  } catch (const cartridgedb::JobFailed& e) {
    EXPECT_EQ(e.kind(), cartridgedb::ErrorKind::JobFailed);
    EXPECT_NE(std::string(e.what()).find("job 1 failed: synthesize: no room for a chunk"), std::string::npos)
        << e.what();
  }
}

TEST(EmbeddedApi, SessionsHaveTheirOwnSettings) {
  TempDir tmp;
  auto db = cartridgedb::Database::open((tmp.path() / "db").string(), stories());
  db->execute_script("CREATE CORPUS pip; ADD DOCUMENT 'Pip was a small green frog.' TO pip;");
  auto one = db->new_session(), two = db->new_session();
  const std::string explain = "EXPLAIN ASK 'Pip' USING pip";
  auto limit = [&](const cartridgedb::Result& r) {
    for (const auto& row : r.rows)
      for (const auto& cell : row)
        if (cell.rfind("answer up to ", 0) == 0) return cell.substr(0, cell.find(" tokens"));
    return std::string("(no answer limit in the plan)");
  };
  EXPECT_EQ(one->execute("SET max_tokens = 3").at(0, "value"), "3");
  two->execute("SET max_tokens = 5");
  EXPECT_EQ(limit(one->execute(explain)), "answer up to 3");
  EXPECT_EQ(limit(two->execute(explain)), "answer up to 5");
  EXPECT_EQ(limit(db->execute(explain)), "answer up to 64");
  auto r = one->execute("ASK 'Pip was' USING pip");
  EXPECT_LE(std::stoi(r.at(0, "tokens")), 3);
  EXPECT_EQ(one->columns("ASK 'Pip was' USING pip"), (std::vector<std::string>{"answer", "tokens", "finish", "sources"}));
  EXPECT_THROW(one->columns("ASK 'Pip' USING"), cartridgedb::ParseError);
  // Errors are the same typed errors as Database::execute's.
  EXPECT_THROW(one->execute("SET max_tokens = 0"), cartridgedb::InvalidArgument);
  EXPECT_THROW(two->execute("ASK 'x' USING nope"), cartridgedb::NotFound);
}

}  // namespace
}  // namespace cdb::test
