// StopMatcher and the request parser on their own: the text a streamed
// client sees never holds part of a stop sequence, and each malformed field
// is named by its JSON path.
#include <gtest/gtest.h>

#include "http/ask_statement.h"
#include "http/completion_request.h"
#include "http/http_error.h"
#include "http/stop_matcher.h"

namespace cdb::http {
namespace {

TEST(StopMatcher, TextThatMayStartAStopSequenceIsHeldBackUntilItCannot) {
  StopMatcher m({"END"});
  EXPECT_EQ(m.feed("abc E"), "abc ");  // "E" may begin END
  EXPECT_EQ(m.feed("N"), "");          // "EN" still may
  EXPECT_EQ(m.feed("d"), "ENd");       // "ENd" cannot
  EXPECT_FALSE(m.stopped());
  EXPECT_EQ(m.feed("x EN"), "x ");
  EXPECT_EQ(m.finish(), "EN");  // the answer ended: what was held is sent
}

TEST(StopMatcher, TheEarliestCompleteStopSequenceEndsTheAnswerRightBeforeIt) {
  StopMatcher m({"cat", "at"});
  EXPECT_EQ(m.feed("a big c"), "a big ");
  EXPECT_EQ(m.feed("at sat"), "");  // "cat" starts at 0 of the held "cat sat", before "at"
  EXPECT_TRUE(m.stopped());
  EXPECT_EQ(m.feed("more"), "");
  EXPECT_EQ(m.finish(), "");
}

TEST(StopMatcher, WithoutStopSequencesEverythingPassesAtOnce) {
  StopMatcher m({});
  EXPECT_EQ(m.feed("abc"), "abc");
  EXPECT_EQ(m.finish(), "");
}

TEST(CompletionRequestParsing, EachWrongFieldIsNamedByItsJsonPath) {
  auto param = [](const std::string& body) {
    try {
      parse_completion_request(body, Endpoint::Chat);
    } catch (const HttpError& e) {
      EXPECT_EQ(e.status(), 400);
      return e.param();
    }
    return std::string("(accepted)");
  };
  EXPECT_EQ(param(R"({"messages":[{"role":"user","content":[{"type":"text","text":1}]}],"corpora":["a"]})"),
            "messages[0].content[0].text");
  EXPECT_EQ(param(R"({"messages":[{"role":"user"}],"corpora":["a"]})"), "messages[0].content");
  EXPECT_EQ(param(R"({"messages":[],"corpora":["a"]})"), "messages");
  EXPECT_EQ(param(R"({"messages":[{"role":"user","content":"x"}],"corpora":["a"],"max_tokens":0})"), "max_tokens");
  EXPECT_EQ(param(R"({"messages":[{"role":"user","content":"x"}],"corpora":["a"],"top_p":0})"), "top_p");
  EXPECT_EQ(param(R"({"messages":[{"role":"user","content":"x"}],"corpora":["a"],"seed":-1})"), "seed");
  EXPECT_EQ(param(R"({"messages":[{"role":"user","content":"x"}],"corpora":["a"],"stop":["1","2","3","4","5"]})"),
            "stop");
  EXPECT_EQ(param(R"([1])"), "");
  EXPECT_EQ(param(R"({"messages":[{"role":"user","content":"x"}],"corpora":["a"],"user":"u","logprobs":false})"),
            "(accepted)");
}

TEST(CompletionRequestParsing, AConversationIsRenderedAsPlainParagraphsEndingWithAssistant) {
  const auto r = parse_completion_request(
      R"({"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"},)"
      R"({"role":"assistant","content":"Hello."},{"role":"user","content":"Who's Tom?"}],"corpora":["pets"]})",
      Endpoint::Chat);
  EXPECT_EQ(r.question, "System: Be brief.\n\nUser: Hi\n\nAssistant: Hello.\n\nUser: Who's Tom?\n\nAssistant:");
  // As ASK text: the quote doubled, a bare name bare, another quoted exactly.
  CompletionRequest q = r;
  q.corpora = {"pets", "My Docs", "with"};
  q.max_tokens = 5;
  q.temperature = 1;
  EXPECT_EQ(ask_statement(q, 2),
            "ASK 'System: Be brief.\n\nUser: Hi\n\nAssistant: Hello.\n\nUser: Who''s Tom?\n\nAssistant:' USING pets, "
            "\"My Docs\", \"with\" WITH (seed = 2, max_tokens = 5, temperature = 1.0)");
}

}  // namespace
}  // namespace cdb::http
