// The HTTP API's contract as raw bytes and curl see it: SSE framing, the
// error statuses and their OpenAI error shape, limits, health, metrics.
#include <gtest/gtest.h>

#include <future>

#include "http/http_server_process.h"

namespace cdb::test {
namespace {

// The last line of a command's output: where --add-api-key prints the key.
std::string last_line(const std::string& out) {
  std::string s = out;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s.substr(s.rfind('\n') == std::string::npos ? 0 : s.rfind('\n') + 1);
}

class PetsHttp : public ::testing::Test {
 protected:
  explicit PetsHttp(std::vector<std::string> args = {"--auth", "trust"}) : server(std::move(args)) {}
  void SetUp() override {
    auto r = server.pg().psql(kSetupPets);
    ASSERT_EQ(r.status, 0) << r.output << server.pg().log();
  }
  HttpServerProcess server;
};

TEST_F(PetsHttp, CurlSeesServerSentEventsInOpenAisChunkFormatEndingWithDone) {
  const auto r = server.curl("-N -i " + shell_quote(server.url("/v1/chat/completions")) + " -d " +
                             shell_quote(chat_body("Mia has a cat", 12, R"("stream":true)")));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("Content-Type: text/event-stream"), std::string::npos) << r.output;
  const std::string body = r.output.substr(r.output.find("\r\n\r\n") + 4);
  // Every event is one "data: " line and a blank line; the last is [DONE].
  ASSERT_EQ(body.rfind("data: ", 0), 0u) << body;
  ASSERT_GE(body.size(), 14u);
  EXPECT_EQ(body.substr(body.size() - 14), "data: [DONE]\n\n");
  const auto events = sse_data(body);
  ASSERT_GE(events.size(), 3u);
  std::string text;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    const auto j = nlohmann::json::parse(events[i], nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << events[i];
    EXPECT_EQ(j["object"], "chat.completion.chunk");
    EXPECT_EQ(j["model"], "stories260K");
    text += j["choices"][0]["delta"].value("content", "");
  }
  EXPECT_EQ(nlohmann::json::parse(events[events.size() - 2])["choices"][0]["finish_reason"], "length");
  const auto whole = server.json_of(server.request("POST", "/v1/chat/completions", chat_body("Mia has a cat", 12)));
  EXPECT_EQ(whole["choices"][0]["message"]["content"], text);
}

TEST_F(PetsHttp, MalformedBodiesGet400NamingTheJsonPathThatIsWrong) {
  auto check = [&](const std::string& body, const std::string& param) {
    const auto r = server.request("POST", "/v1/chat/completions", body);
    EXPECT_EQ(status_of(r), 400) << r;
    const auto j = server.json_of(r);
    EXPECT_EQ(j["error"]["type"], "invalid_request_error") << r;
    if (param.empty()) EXPECT_TRUE(j["error"]["param"].is_null()) << r;
    else EXPECT_EQ(j["error"]["param"], param) << r;
  };
  check("{not json", "");
  check(R"({"messages":[{"role":"user","content":"x"},{"role":"robot","content":"y"}],"corpora":["pets"]})",
        "messages[1].role");
  check(R"({"messages":[{"role":"user","content":"x"}],"corpora":["pets", 7]})", "corpora[1]");
  check(R"({"messages":[{"role":"user","content":"x"}],"corpora":["pets"],"n":9})", "n");
  check(R"({"messages":[{"role":"user","content":"x"}],"corpora":["pets"],"temperature":"hot"})", "temperature");
  check(R"({"messages":[{"role":"user","content":"x"}],"corpora":["pets"],"stop":["a",""]})", "stop[1]");
  check(R"({"messages":[{"role":"user","content":"x"}]})", "corpora");
  check(R"({"messages":[{"role":"user","content":"x"}],"corpora":["pets"],"stream_options":{"include_usage":1}})",
        "stream_options.include_usage");
}

TEST_F(PetsHttp, UnknownCorporaModelsAndPathsGet404AndWrongMethods405) {
  auto r = server.request("POST", "/v1/chat/completions",
                          R"({"messages":[{"role":"user","content":"x"}],"corpora":["nope"]})");
  EXPECT_EQ(status_of(r), 404) << r;
  EXPECT_NE(server.json_of(r)["error"]["message"].get<std::string>().find("nope"), std::string::npos);
  r = server.request("POST", "/v1/chat/completions",
                     R"({"model":"gpt-4","messages":[{"role":"user","content":"x"}],"corpora":["pets"]})");
  EXPECT_EQ(status_of(r), 404) << r;
  EXPECT_EQ(server.json_of(r)["error"]["code"], "model_not_found");
  EXPECT_EQ(status_of(server.request("GET", "/v1/models/gpt-4")), 404);
  EXPECT_EQ(server.json_of(server.request("GET", "/v1/models/stories260K"))["id"], "stories260K");
  EXPECT_EQ(status_of(server.request("GET", "/v2/nothing")), 404);
  EXPECT_EQ(status_of(server.request("GET", "/v1/chat/completions")), 405);
  EXPECT_EQ(status_of(server.request("GET", "/health")), 200);
  const auto ready = server.request("GET", "/ready");
  EXPECT_EQ(status_of(ready), 200);
  EXPECT_EQ(server.json_of(ready)["model"], "stories260K");
}

TEST_F(PetsHttp, ExplainAddsThePlanRowsThatExplainAskGives) {
  const auto r = server.request("POST", "/v1/chat/completions", chat_body("Mia", 4, R"("explain":true)"));
  ASSERT_EQ(status_of(r), 200) << r;
  const auto plan = server.json_of(r)["cartridgedb"]["plan"];
  const auto pg = server.pg().psql_rows("EXPLAIN ASK 'Mia' USING pets WITH (max_tokens = 4)");
  ASSERT_EQ(pg.status, 0) << pg.output;
  ASSERT_EQ(plan.size(), 2u) << plan.dump();
  EXPECT_EQ(plan[0]["corpus"], "pets");
  EXPECT_EQ(plan[0]["source"], "icl");  // no Cartridge trained: the ICL fallback
  EXPECT_EQ(plan[1]["source"], "question");
  EXPECT_EQ(pg.output.substr(0, pg.output.find('\n')),
            plan[0]["position"].get<std::string>() + "|pets|icl||" + plan[0]["version"].get<std::string>() + "|" +
                plan[0]["tokens"].get<std::string>() + "|" + plan[0]["bytes"].get<std::string>() + "|prompt||" +
                plan[0]["note"].get<std::string>());
  // usage.prompt_tokens is the whole prompt the plan lays out.
  EXPECT_EQ(server.json_of(r)["usage"]["prompt_tokens"].get<int>(),
            std::stoi(plan[1]["position"].get<std::string>()) + std::stoi(plan[1]["tokens"].get<std::string>()));
}

TEST_F(PetsHttp, NChoicesAreSeparateRequestsEachWithItsSeed) {
  const auto r = server.request("POST", "/v1/completions",
                                R"({"prompt":"Mia has","corpora":["pets"],"max_tokens":12,"n":3,"temperature":1.0,"seed":5})");
  ASSERT_EQ(status_of(r), 200) << r;
  const auto j = server.json_of(r);
  ASSERT_EQ(j["choices"].size(), 3u);
  EXPECT_EQ(j["usage"]["completion_tokens"], 36);
  // Choice i is the answer with seed 5 + i, asked alone.
  for (int i = 0; i < 3; ++i) {
    const auto ask = server.pg().psql_rows("ASK 'Mia has' USING pets WITH (max_tokens = 12, temperature = 1.0, seed = " +
                                           std::to_string(5 + i) + ")");
    EXPECT_EQ(ask.output.substr(0, ask.output.find('|')), j["choices"][i]["text"]) << i;
  }
}

TEST_F(PetsHttp, MetricsPassPromtoolAndCountRequestsTokensAndTheBatch) {
  ASSERT_EQ(status_of(server.request("POST", "/v1/chat/completions", chat_body("Mia", 5))), 200);
  ASSERT_EQ(status_of(server.request("POST", "/v1/chat/completions", "{")), 400);
  const auto metrics = body_of(server.request("GET", "/metrics"));
  const auto path = server.pg().dir() / "metrics.txt";
  write_text(path, metrics);
  const auto check = run_command("promtool check metrics < " + shell_quote(path.string()));
  EXPECT_EQ(check.status, 0) << check.output << metrics;
  for (const char* line : {"cartridgedb_http_requests_total{endpoint=\"chat_completions\",status=\"200\"} 1",
                           "cartridgedb_http_requests_total{endpoint=\"chat_completions\",status=\"400\"} 1",
                           "cartridgedb_http_tokens_total{endpoint=\"chat_completions\",kind=\"completion\"} 5",
                           "cartridgedb_http_time_to_first_token_seconds_count 1",
                           "cartridgedb_http_inter_token_seconds_count 4", "cartridgedb_kv_slots ",
                           "cartridgedb_batch_queued 0", "cartridgedb_residency_hits_total{tier=\"device\"} ",
                           "cartridgedb_residency_loads_total ",
                           // The PostgreSQL side's statements (the fixture's setup) count too.
                           "cartridgedb_pg_statements_total{statement=\"ADD DOCUMENT\",outcome=\"ok\"} 2",
                           "cartridgedb_pg_statements_total{statement=\"CREATE CORPUS\",outcome=\"ok\"} 1"})
    EXPECT_NE(metrics.find(line), std::string::npos) << line << "\n" << metrics;
}

TEST_F(PetsHttp, MetricsShowARunningTrainingJobByStateAndItsStepsAndStillPassPromtool) {
  ASSERT_EQ(server.pg().psql("TRAIN CARTRIDGE FOR pets WITH (steps = 300)").status, 0);
  std::string metrics;
  for (int i = 0; i < 600; ++i) {  // until the job has taken a step
    metrics = body_of(server.request("GET", "/metrics"));
    if (metrics.find("cartridgedb_job_step{job=\"1\",corpus=\"pets\"} ") != std::string::npos &&
        metrics.find("cartridgedb_job_step{job=\"1\",corpus=\"pets\"} 0\n") == std::string::npos)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(metrics.find("cartridgedb_jobs{state=\"running\"} 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("cartridgedb_job_tokens_per_second{job=\"1\",corpus=\"pets\"} "), std::string::npos)
      << metrics;
  const auto path = server.pg().dir() / "metrics.txt";
  write_text(path, metrics);
  const auto check = run_command("promtool check metrics < " + shell_quote(path.string()));
  EXPECT_EQ(check.status, 0) << check.output << metrics;
  server.pg().psql("CANCEL JOB 1");
}

// ---- limits ----------------------------------------------------------------

class LimitedHttp : public PetsHttp {
 protected:
  LimitedHttp()
      : PetsHttp({"--auth", "trust", "--http-max-body-size", "2000", "--http-max-header-size", "4096",
                  "--http-max-queue", "2", "--http-max-user-requests", "1"}) {}
};

TEST_F(LimitedHttp, OversizedBodiesGet413AndOversizedHeaders431AndTheServerGoesOn) {
  const std::string big = chat_body(std::string(3000, 'a'), 4);
  auto r = server.request("POST", "/v1/chat/completions", big);
  EXPECT_EQ(status_of(r), 413) << r;
  EXPECT_EQ(server.json_of(r)["error"]["code"], "too_large");
  r = server.request("GET", "/health", "", "X-Junk: " + std::string(5000, 'j') + "\r\n");
  EXPECT_EQ(status_of(r), 431) << r;
  // curl sends a body over its threshold with Expect: 100-continue: refused before it is sent.
  const auto c = server.curl("-o /dev/null -w '%{http_code}' -H 'Expect: 100-continue' " +
                             shell_quote(server.url("/v1/chat/completions")) + " -d " + shell_quote(big));
  EXPECT_EQ(c.output, "413");
  EXPECT_EQ(status_of(server.request("POST", "/v1/chat/completions", chat_body("Mia", 3))), 200);
}

TEST_F(LimitedHttp, MoreChoicesThanTheQueueHoldsGet503WithRetryAfter) {
  const auto r = server.request("POST", "/v1/chat/completions", chat_body("Mia", 3, R"("n":3)"));
  EXPECT_EQ(status_of(r), 503) << r;
  EXPECT_NE(r.find("Retry-After: 1"), std::string::npos) << r;
  EXPECT_EQ(server.json_of(r)["error"]["code"], "overloaded");
}

TEST_F(LimitedHttp, AUserPastItsRequestsInFlightGets429) {
  // The first request streams a long answer; while it runs, a second of the
  // same user (here: trust's superuser) is refused at once.
  Socket first(server.port());
  const std::string body = chat_body("Mia", 400, R"("stream":true)");
  ASSERT_TRUE(first.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\n\r\n" + body));
  ASSERT_NE(first.read_until("data: ", std::chrono::seconds(30)).find("data: "), std::string::npos);
  const auto r = server.request("POST", "/v1/chat/completions", chat_body("Mia", 3));
  EXPECT_EQ(status_of(r), 429) << r;
  EXPECT_EQ(server.json_of(r)["error"]["type"], "rate_limit_error");
}

class TimedHttp : public PetsHttp {
 protected:
  TimedHttp() : PetsHttp({"--auth", "trust", "--http-request-timeout", "0.001"}) {}
};

TEST_F(TimedHttp, AnAnswerPastTheRequestTimeoutGets408) {
  const auto r = server.request("POST", "/v1/chat/completions", chat_body("Mia", 400));
  EXPECT_EQ(status_of(r), 408) << r;
  EXPECT_EQ(server.json_of(r)["error"]["code"], "timeout");
}

// ---- API keys ----------------------------------------------------------------

TEST(HttpApiKeys, AddApiKeyPrintsTheKeyOnceAndStoresOnlyItsHash) {
  TempDir dir("http-keys");
  const std::string users = (dir.path() / "users.txt").string();
  const std::string bin = std::string(CDB_BIN_DIR) + "/cartridge serve --users " + shell_quote(users);
  ASSERT_EQ(run_command("echo pw | " + bin + " --add-user alice").status, 0);
  const auto r = run_command(bin + " --add-api-key alice");
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string key = last_line(r.output);
  EXPECT_EQ(key.size(), 68u) << r.output;
  const std::string file = read_text(users);
  EXPECT_EQ(file.find(key), std::string::npos);
  EXPECT_NE(file.find(":sha256$"), std::string::npos) << file;
  const auto nobody = run_command(bin + " --add-api-key bob");
  EXPECT_NE(nobody.status, 0);
  EXPECT_NE(nobody.output.find("no user 'bob'"), std::string::npos) << nobody.output;
}

TEST(HttpApiKeys, BearerKeysActAsTheirUserUnderItsGrantsAndOthersGet401) {
  TempDir dir("http-auth");
  const std::string users = (dir.path() / "users.txt").string();
  const std::string bin = std::string(CDB_BIN_DIR) + "/cartridge serve --users " + shell_quote(users);
  ASSERT_EQ(run_command("echo pw | " + bin + " --add-user alice").status, 0);
  ASSERT_EQ(run_command("echo pw | " + bin + " --add-user root --superuser").status, 0);
  const std::string alice_key = last_line(run_command(bin + " --add-api-key alice").output);
  const std::string root_key = last_line(run_command(bin + " --add-api-key root").output);
  HttpServerProcess server({"--users", users});
  const auto as = [](const std::string& key) { return "Authorization: Bearer " + key + "\r\n"; };
  EXPECT_EQ(status_of(server.request("GET", "/v1/models")), 401);
  EXPECT_EQ(status_of(server.request("GET", "/health")), 401);
  const auto wrong = server.request("GET", "/v1/models", "", as("cdb-0000"));
  EXPECT_EQ(status_of(wrong), 401) << wrong;
  EXPECT_NE(wrong.find("WWW-Authenticate: Bearer"), std::string::npos);
  EXPECT_EQ(status_of(server.request("GET", "/v1/models", "", as(alice_key))), 200);
  // root's corpus: alice may not use it until it is granted to her.
  const auto pg = run_command("PGPASSWORD=pw psql -X -v ON_ERROR_STOP=1 " + shell_quote(server.pg().conninfo("root")) +
                              " -c " + shell_quote(kSetupPets));
  ASSERT_EQ(pg.status, 0) << pg.output;
  auto r = server.request("POST", "/v1/chat/completions", chat_body("Mia", 3), as(alice_key));
  EXPECT_EQ(status_of(r), 403) << r;
  EXPECT_EQ(server.json_of(r)["error"]["type"], "permission_error");
  EXPECT_EQ(status_of(server.request("POST", "/v1/chat/completions", chat_body("Mia", 3), as(root_key))), 200);
  ASSERT_EQ(run_command("PGPASSWORD=pw psql -X " + shell_quote(server.pg().conninfo("root")) +
                        " -c 'GRANT USAGE ON CORPUS pets TO alice'").status, 0);
  EXPECT_EQ(status_of(server.request("POST", "/v1/chat/completions", chat_body("Mia", 3), as(alice_key))), 200);
}

TEST(HttpApiKeys, TrustIsRefusedOffLoopback) {
  TempDir dir("http-trust");
  const auto r = run_command(std::string(CDB_BIN_DIR) + "/cartridge serve " + shell_quote((dir.path() / "d").string()) +
                             " --model " + shell_quote(cdb::model_file("stories260K/stories260K.bin").string()) +
                             " --tokenizer " + shell_quote(cdb::model_file("stories260K/tok512.bin").string()) +
                             " --auth trust --listen 127.0.0.1:0 --http 0.0.0.0:0");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("only allowed on a loopback address"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace cdb::test

namespace cdb::test {
namespace {

TEST(HttpTls, TheSameCertificateServesHttpsAndStreamsOverIt) {
  TempDir certs("http-certs");
  const auto crt = (certs.path() / "server.crt").string(), key = (certs.path() / "server.key").string();
  auto gen = run_command("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -keyout " +
                         shell_quote(key) + " -out " + shell_quote(crt));
  ASSERT_EQ(gen.status, 0) << gen.output;
  HttpServerProcess server({"--auth", "trust", "--tls-cert", crt, "--tls-key", key});
  ASSERT_EQ(server.pg().psql(kSetupPets, "sslmode=require").status, 0);
  const std::string https = "https://127.0.0.1:" + std::to_string(server.port());
  auto r = server.curl("--cacert " + shell_quote(crt) + " " + https + "/v1/models");
  ASSERT_EQ(r.status, 0) << r.output << server.pg().log();
  EXPECT_NE(r.output.find("\"stories260K\""), std::string::npos) << r.output;
  r = server.curl("-N --cacert " + shell_quote(crt) + " " + https + "/v1/chat/completions -d " +
                  shell_quote(chat_body("Mia", 6, R"("stream":true)")));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("data: [DONE]\n\n"), std::string::npos) << r.output;
  // Plain HTTP on the TLS port gets no answer, and the server goes on.
  EXPECT_EQ(status_of(server.request("GET", "/health", "", "", std::chrono::seconds(5))), 0);
  EXPECT_EQ(server.curl("--cacert " + shell_quote(crt) + " -o /dev/null -w '%{http_code}' " + https + "/health").output,
            "200");
}

}  // namespace
}  // namespace cdb::test

namespace cdb::test {
namespace {

TEST(HttpConnections, SilentAndIdleConnectionsAreClosedAtTheirTimeouts) {
  HttpServerProcess server({"--auth", "trust", "--http-header-timeout", "1", "--http-idle-timeout", "1"});
  // Silent from the start: closed after the header timeout, without a thread held longer.
  Socket silent(server.port());
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(silent.read_until("", std::chrono::seconds(20)), "");
  EXPECT_TRUE(silent.closed());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  // Keep-alive: a second request on the same connection is served; then, idle, it is closed.
  Socket keep(server.port());
  ASSERT_TRUE(keep.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_NE(keep.read_until("{\"status\":\"ok\"}", std::chrono::seconds(10)).find("200 OK"), std::string::npos);
  ASSERT_TRUE(keep.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_NE(keep.read_until("{\"status\":\"ok\"}", std::chrono::seconds(10)).find("200 OK"), std::string::npos);
  keep.read_until("", std::chrono::seconds(20));
  EXPECT_TRUE(keep.closed());
}

TEST(HttpConnections, AConnectionOverTheCapGets503AtOnce) {
  // Default timeouts: the two held connections must outlive the third's try
  // on a loaded machine (0.5 s once did not).
  HttpServerProcess server({"--auth", "trust", "--http-max-connections", "2"});
  Socket a(server.port()), b(server.port());
  ASSERT_TRUE(a.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(b.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
  a.read_until("}", std::chrono::seconds(10));
  b.read_until("}", std::chrono::seconds(10));
  const auto third = server.request("GET", "/health");
  EXPECT_EQ(status_of(third), 503) << third;
  EXPECT_NE(third.find("Retry-After: 1"), std::string::npos) << third;
}

}  // namespace
}  // namespace cdb::test
