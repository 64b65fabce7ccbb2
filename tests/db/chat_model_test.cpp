// A database on a chat model (the real Llama 3 tokenizer and template on
// tiny random weights, tests/support/tiny_chat_model.h): training runs the
// chat path of self-study, and ASK renders the question in the model's chat
// template, after the Cartridge or with the corpus in a system message. The
// answers are checked token for token against the engine driven by hand
// with the prompt the template defines.
#include <gtest/gtest.h>

#include "engine/cartridge_store.h"
#include "engine/generator.h"
#include "engine/tokenizer/chat_format.h"
#include "planner_fixture.h"
#include "support/tiny_chat_model.h"
#include "train/synthesizer.h"

namespace cdb::test {
namespace {

constexpr const char* kStory =
    "Zuli had a little green frog named Bimbo. Bimbo liked to sing by the pond near the old mill. "
    "One day Zuli and Bimbo met an orange fish named Kato.";
constexpr const char* kQuestion = "What was the name of the frog that Zuli had?";

std::string value_of(const QueryResult& r, const std::string& property) {
  for (size_t i = 0; i < r.rows.size(); ++i)
    if (r.at(i, "property") == property) return r.at(i, "value");
  return {};
}

Generation by_hand(Session& s, const std::vector<int32_t>& prompt, const Cartridge* prefix, int64_t max_tokens) {
  GenerateOptions g;
  g.sampling.temperature = 0;  // ASK's default: greedy
  g.max_tokens = max_tokens;
  g.stop_tokens = chat_stop_ids(ChatFormat::Llama3, s.db->tokenizer());
  return generate(s.db->model(), s.db->tokenizer(), prompt, prefix, g);
}

TEST(ChatModel, TrainsACartridgeAndAsksInTheChatTemplate) {
  TempDir tmp("chat-db");
  write_tiny_chat_model(tmp.path() / "model");
  DatabaseOptions o;
  o.model_path = tmp.path() / "model";  // the tokenizer is found beside it
  Session s(tmp.path() / "db", o);
  EXPECT_EQ(value_of(s.run("SHOW MODEL"), "chat_format"), "llama3");
  s.script("CREATE CORPUS pets WITH (cartridge_tokens = 16, description = 'stories about pets');"
           "ADD DOCUMENT '" + std::string(kStory) + "' TO pets;");
  auto job = s.run("TRAIN CARTRIDGE FOR pets WITH (steps = 2, conversations = 4, batch_size = 4, max_new_tokens = 16) WAIT");
  ASSERT_EQ(job.at(0, "state"), "done") << job.at(0, "error");

  const Tokenizer& tok = s.db->tokenizer();
  const auto turn = tok.encode(render_chat(ChatFormat::Llama3, {{"user", kQuestion}}, true), false);
  ASSERT_EQ(turn.front(), tok.bos_id());

  // With the Cartridge: its first token is the BOS, so the prompt is the
  // user turn without it, exactly what the student read in training.
  auto a = s.run("ASK '" + std::string(kQuestion) + "' USING pets WITH (max_tokens = 12)");
  EXPECT_EQ(a.at(0, "sources").rfind("pets: cartridge", 0), 0u) << a.at(0, "sources");
  const auto row = s.db->store().catalog().cartridge(std::stoll(job.at(0, "cartridge")));
  ASSERT_TRUE(row);
  const Cartridge cart = load_cartridge(s.db->store(), *row);
  ASSERT_EQ(cart.tokens(), 16);
  const Generation want = by_hand(s, std::vector<int32_t>(turn.begin() + 1, turn.end()), &cart, 12);
  EXPECT_EQ(a.text, want.text);
  EXPECT_EQ(a.at(0, "tokens"), std::to_string(want.tokens.size()));

  // In context: the corpus in a system message before the same user turn.
  auto icl = s.run("ASK '" + std::string(kQuestion) + "' USING pets WITH (max_tokens = 12, mode = 'icl')");
  EXPECT_EQ(icl.at(0, "sources"), "pets: icl");
  const std::string sys = "Answer from the following documents.\n\n# pets: stories about pets\n\n" + std::string(kStory);
  const auto icl_prompt = tok.encode(render_chat(ChatFormat::Llama3, {{"system", sys}, {"user", kQuestion}}, true), false);
  const Generation want_icl = by_hand(s, icl_prompt, nullptr, 12);
  EXPECT_EQ(icl.text, want_icl.text);
  EXPECT_EQ(icl.at(0, "tokens"), std::to_string(want_icl.tokens.size()));
  EXPECT_NE(icl.text, a.text) << "the two prompts differ, so should their (random-model) answers";
}

}  // namespace
}  // namespace cdb::test
