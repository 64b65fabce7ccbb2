// The official `openai` npm package, unmodified, against `cartridge serve
// --http`: models, chat, streamed chat, completions and errors, with the
// corpora passed as an extra body field. Answers are compared with the
// PostgreSQL side's ASK of the same question: one planner, one engine.
#include <gtest/gtest.h>

#include "http/http_server_process.h"

namespace cdb::test {
namespace {

// Prints one JSON object: what each call returned.
constexpr const char* kOpenAiScript = R"JS(
const { OpenAI } = require('openai');
const client = new OpenAI({ baseURL: process.argv[2], apiKey: process.env.KEY || 'unused-under-trust' });
(async () => {
  const out = {};
  const models = await client.models.list();
  out.models = models.data.map(m => m.id);
  const chat = await client.chat.completions.create({
    model: 'stories260K', messages: [{ role: 'user', content: 'Mia has a cat' }], max_tokens: 16,
    corpora: ['pets'] });
  out.chat = { content: chat.choices[0].message.content, finish: chat.choices[0].finish_reason, usage: chat.usage };
  const stream = await client.chat.completions.create({
    model: 'stories260K', messages: [{ role: 'user', content: 'Mia has a cat' }], max_tokens: 16,
    corpora: ['pets'], stream: true, stream_options: { include_usage: true } });
  let text = '', finish = null, usage = null, chunks = 0;
  for await (const c of stream) {
    chunks++;
    if (c.usage) usage = c.usage;
    for (const ch of c.choices) { text += ch.delta.content || ''; if (ch.finish_reason) finish = ch.finish_reason; }
  }
  out.stream = { content: text, finish, usage, chunks };
  const cmpl = await client.completions.create({ model: 'stories260K', prompt: 'Mia has a cat', max_tokens: 16,
                                                corpora: ['pets'] });
  out.completion = { text: cmpl.choices[0].text, finish: cmpl.choices[0].finish_reason };
  const stopped = await client.chat.completions.create({
    model: 'stories260K', messages: [{ role: 'user', content: 'Mia has a cat' }], max_tokens: 16,
    corpora: ['pets'], stop: ['Tom'] });
  out.stopped = { content: stopped.choices[0].message.content, finish: stopped.choices[0].finish_reason };
  try {
    await client.chat.completions.create({ model: 'stories260K', messages: [{ role: 'user', content: 'x' }],
                                           corpora: ['no_such_corpus'] });
    out.error = 'none';
  } catch (e) { out.error = { status: e.status, name: e.constructor.name, message: e.message }; }
  console.log(JSON.stringify(out));
})().catch(e => { console.log(JSON.stringify({ fatal: String(e), status: e.status })); process.exit(1); });
)JS";

class OpenAiClient : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = server.pg().psql(kSetupPets);
    ASSERT_EQ(r.status, 0) << r.output << server.pg().log();
  }
  HttpServerProcess server;
};

TEST_F(OpenAiClient, ModelsChatStreamCompletionsAndErrorsWorkUnmodifiedAndMatchAsk) {
  const auto r = server.node("client.js", kOpenAiScript);
  ASSERT_EQ(r.status, 0) << r.output << server.pg().log();
  const auto out = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  EXPECT_EQ(out["models"], nlohmann::json::array({"stories260K"}));

  // The same question over the PostgreSQL protocol.
  const auto ask = server.pg().psql_rows("ASK 'Mia has a cat' USING pets WITH (max_tokens = 16)");
  ASSERT_EQ(ask.status, 0) << ask.output;
  const std::string answer = out["chat"]["content"];
  ASSERT_FALSE(answer.empty());
  EXPECT_EQ(ask.output.substr(0, ask.output.find('|')), answer);
  EXPECT_EQ(out["chat"]["finish"], "length");
  EXPECT_EQ(out["chat"]["usage"]["completion_tokens"], 16);
  EXPECT_GT(out["chat"]["usage"]["prompt_tokens"].get<int>(), 4);

  EXPECT_EQ(out["stream"]["content"], answer);
  EXPECT_EQ(out["stream"]["finish"], "length");
  EXPECT_EQ(out["stream"]["usage"], out["chat"]["usage"]);
  EXPECT_GE(out["stream"]["chunks"].get<int>(), 3);

  EXPECT_EQ(out["completion"]["text"], answer);  // one user message is the question as it is

  // A stop sequence ends the answer right before it.
  const size_t tom = answer.find("Tom");
  if (tom != std::string::npos) {
    EXPECT_EQ(out["stopped"]["content"], answer.substr(0, tom));
    EXPECT_EQ(out["stopped"]["finish"], "stop");
  } else {
    EXPECT_EQ(out["stopped"]["content"], answer);
  }

  EXPECT_EQ(out["error"]["status"], 404) << out.dump();
  EXPECT_EQ(out["error"]["name"], "NotFoundError");
  EXPECT_NE(out["error"]["message"].get<std::string>().find("no_such_corpus"), std::string::npos);
}

}  // namespace
}  // namespace cdb::test
