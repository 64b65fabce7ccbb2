// Thousands of malformed requests (fixed seed): broken HTTP framing and
// broken or ill-typed JSON bodies. Each gets an HTTP answer below 500, or
// its connection closed; none takes the server down, and it answers
// properly after them all.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <random>

#include "http/http_server_process.h"

namespace cdb::test {
namespace {

const std::string kValidBody =
    R"({"model":"stories260K","messages":[{"role":"user","content":"Mia has"}],"corpora":["pets"],"max_tokens":1,)"
    R"("temperature":0.5,"top_p":0.9,"seed":3,"n":1,"stop":["x"],"stream":false,"stream_options":{"include_usage":true}})";

std::string request_bytes(const std::string& path, const std::string& body) {
  return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// Flips, inserts, deletes and duplicates bytes of `s`.
std::string mutate(std::string s, std::mt19937& rng) {
  const int edits = 1 + static_cast<int>(rng() % 8);
  for (int i = 0; i < edits && !s.empty(); ++i) {
    const size_t at = rng() % s.size();
    switch (rng() % 5) {
      case 0: s[at] = static_cast<char>(rng() % 256); break;
      case 1: s.insert(at, 1, static_cast<char>(rng() % 256)); break;
      case 2: s.erase(at, 1 + rng() % 16); break;
      case 3: s.insert(at, s.substr(at, rng() % 64)); break;
      case 4: s.insert(at, std::string("{}[]\",:\\0-1e999tnf\r\n ").substr(rng() % 22, 1)); break;
    }
  }
  return s;
}

// A well-framed request whose JSON has one field of a wrong type or value.
std::string wrong_field(std::mt19937& rng) {
  static const char* fields[] = {"model", "messages", "corpora", "max_tokens", "max_completion_tokens", "temperature",
                                 "top_p", "seed", "n", "stop", "stream", "stream_options", "explain", "prompt"};
  static const char* values[] = {"null", "true", "-1", "0", "1e308", "-1e308", "18446744073709551616", "\"\"",
                                 "\"x\"", "[]", "{}", "[1,2]", "[\"\"]", "[{}]", "[{\"role\":1}]",
                                 "[{\"role\":\"user\",\"content\":[{\"type\":\"image\"}]}]", "\"\\u0000\"",
                                 "[\"pets\",\"pets\"]", "9", "2.5", "{\"include_usage\":\"yes\"}"};
  auto j = nlohmann::json::parse(kValidBody);
  j[fields[rng() % std::size(fields)]] = nlohmann::json::parse(values[rng() % std::size(values)]);
  return j.dump();
}

std::string framing_garbage(std::mt19937& rng) {
  const std::string ok = request_bytes("/v1/chat/completions", kValidBody);
  switch (rng() % 8) {
    case 0: return mutate(ok, rng);
    case 1: {  // random bytes
      std::string s(1 + rng() % 512, '\0');
      for (auto& c : s) c = static_cast<char>(rng() % 256);
      return s;
    }
    case 2: return "POST /v1/chat/completions HTTP/1.1\r\nContent-Length: " + std::to_string(rng()) + "99999\r\n\r\n{";
    case 3: return "POST /v1/chat/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
                   mutate("5\r\n{\"a\":\r\n0\r\n\r\n", rng);
    case 4: return "GET /" + std::string(rng() % 20000, 'a') + " HTTP/1.1\r\n\r\n";
    case 5: return "POST /v1/completions HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n{}{}{}{";
    case 6: return mutate("GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer abc\r\n\r\n", rng);
    default: return std::string(rng() % 3 ? "BREW" : "GET") + " /health HTTP/" + std::to_string(rng() % 4) + ".9\r\n\r\n";
  }
}

TEST(HttpFuzz, ThousandsOfMalformedRequestsNeverTakeTheServerDown) {
  HttpServerProcess server({"--auth", "trust", "--http-header-timeout", "2"});
  ASSERT_EQ(server.pg().psql(kSetupPets).status, 0);
  std::mt19937 rng(20261203);
  int answered = 0, closed = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string bytes;
    switch (i % 3) {
      case 0: bytes = framing_garbage(rng); break;
      case 1: bytes = request_bytes(rng() % 2 ? "/v1/chat/completions" : "/v1/completions", mutate(kValidBody, rng)); break;
      default: bytes = request_bytes("/v1/chat/completions", wrong_field(rng)); break;
    }
    Socket s(server.port());
    ASSERT_TRUE(s.ok()) << "request " << i << ": cannot connect\n" << server.pg().log();
    s.send(bytes);
    s.shutdown_write();  // the server sees the end at once: nothing waits for a timeout
    const std::string r = s.read_until("", std::chrono::seconds(30));
    if (r.empty()) {
      ++closed;
      continue;
    }
    ++answered;
    const int status = status_of(r);
    ASSERT_GE(status, 200) << "request " << i << ":\n" << bytes << "\nanswer:\n" << r;
    ASSERT_LT(status, 500) << "request " << i << ":\n" << bytes << "\nanswer:\n" << r;
  }
  // Deeply nested JSON, at the body limit.
  const std::string deep = std::string(400000, '[') + std::string(400000, ']');
  EXPECT_EQ(status_of(server.request("POST", "/v1/chat/completions", deep)), 400);
  int st = 0;
  ASSERT_EQ(::waitpid(server.pg().pid(), &st, WNOHANG), 0) << "the server exited\n" << server.pg().log();
  EXPECT_EQ(status_of(server.request("GET", "/health")), 200);
  const auto r = server.request("POST", "/v1/chat/completions", chat_body("Mia has a cat", 4));
  EXPECT_EQ(status_of(r), 200) << r;
  EXPECT_GT(answered, 1000);
  std::printf("fuzz: %d answered, %d closed without an answer\n", answered, closed);
}

}  // namespace
}  // namespace cdb::test
