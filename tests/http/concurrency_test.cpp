// 64 streaming clients at once: they share one continuous batch, each
// stream is exactly its answer asked alone (greedy), and a client that hangs
// up mid-stream leaves the batch at the next step.
#include <gtest/gtest.h>

#include <barrier>
#include <regex>

#include "http/http_server_process.h"

namespace cdb::test {
namespace {

// A metric's value in a /metrics text (the first sample whose line starts
// with `name `); -1 when absent.
double metric(const std::string& text, const std::string& name) {
  const size_t at = text.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + name.size() + 2));
}

// The content of a streamed chat answer: its deltas, in order; "" plus a
// failure when the stream does not end with [DONE].
std::string streamed_content(const std::string& response) {
  const auto events = sse_data(body_of(response));
  EXPECT_FALSE(events.empty()) << response;
  if (events.empty()) return "";
  EXPECT_EQ(events.back(), "[DONE]") << response;
  std::string text;
  for (const auto& e : events) {
    const auto j = nlohmann::json::parse(e, nullptr, false);
    if (j.is_discarded() || !j.contains("choices") || j["choices"].empty()) continue;
    text += j["choices"][0]["delta"].value("content", "");
  }
  return text;
}

class BatchHttp : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = server.pg().psql(kSetupPets);
    ASSERT_EQ(r.status, 0) << r.output << server.pg().log();
  }
  std::string metrics() { return body_of(server.request("GET", "/metrics")); }
  HttpServerProcess server;
};

TEST_F(BatchHttp, SixtyFourStreamingClientsShareOneBatchAndEachGetsItsAnswerAskedAlone) {
  const std::vector<std::string> questions = {"Mia has a cat", "Ben has a dog", "Tom likes to", "Rex runs in",
                                              "Once upon a time", "The sun was", "Mia and Ben", "A little bird"};
  constexpr int kClients = 64, kTokens = 40;
  std::vector<std::string> alone;
  for (const auto& q : questions) {
    const auto j = server.json_of(server.request("POST", "/v1/chat/completions", chat_body(q, kTokens)));
    ASSERT_TRUE(j.contains("choices")) << j.dump();
    alone.push_back(j["choices"][0]["message"]["content"]);
  }
  // Connected first, then all sent at once.
  std::vector<std::unique_ptr<Socket>> sockets;
  for (int i = 0; i < kClients; ++i) sockets.push_back(std::make_unique<Socket>(server.port()));
  std::barrier start(kClients);
  std::vector<std::string> got(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i)
    clients.emplace_back([&, i] {
      const std::string body = chat_body(questions[i % questions.size()], kTokens, R"("stream":true)");
      start.arrive_and_wait();
      sockets[i]->send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n" + body);
      got[i] = sockets[i]->read_until("", std::chrono::seconds(300));
    });
  for (auto& t : clients) t.join();
  for (int i = 0; i < kClients; ++i) {
    ASSERT_EQ(status_of(got[i]), 200) << got[i];
    EXPECT_EQ(streamed_content(got[i]), alone[i % questions.size()]) << "client " << i;
  }
  // One batch: many questions were decoded in the same step.
  const std::string m = metrics();
  EXPECT_GE(metric(m, "cartridgedb_batch_largest"), 16) << m;
  EXPECT_EQ(metric(m, "cartridgedb_batch_running"), 0) << m;
}

TEST_F(BatchHttp, AClientThatHangsUpMidStreamLeavesTheBatchAtTheNextStep) {
  const double before = metric(metrics(), "cartridgedb_decoded_tokens_total");
  double at_close = 0;
  {
    Socket s(server.port());
    const std::string body = chat_body("Mia has a cat", 450, R"("stream":true)");
    ASSERT_TRUE(s.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n" + body));
    // The role chunk, then the first token's.
    const std::string seen = s.read_until("\"content\":\"", std::chrono::seconds(60));
    ASSERT_NE(seen.find("\"content\":\""), std::string::npos) << seen;
    s.close();  // hung up
    at_close = metric(metrics(), "cartridgedb_decoded_tokens_total");
  }
  // The slot is free soon after, and hardly any token was decoded after the
  // hang-up was seen: the request is checked between tokens, not only every
  // 50 ms (polling alone let 13 to 97 more tokens through on a quiet machine).
  // Counted from a scrape right after the close, since on a loaded machine
  // this client may read its first token well after the server decoded more.
  double running = 1;
  for (int i = 0; i < 200 && running != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    running = metric(metrics(), "cartridgedb_batch_running");
  }
  const std::string m = metrics();
  EXPECT_EQ(running, 0) << m;
  const double after = metric(m, "cartridgedb_decoded_tokens_total") - at_close;
  std::printf("decoded: %.0f tokens before the hang-up was scraped, %.0f after\n", at_close - before, after);
  EXPECT_LE(after, 8) << "the answer went on after its client left\n" << m;
  EXPECT_LT(metric(m, "cartridgedb_decoded_tokens_total") - before, 200) << m;
  EXPECT_NE(m.find("cartridgedb_http_requests_total{endpoint=\"chat_completions\",status=\"499\"} 1"), std::string::npos)
      << m;
}

}  // namespace
}  // namespace cdb::test
