// Random and mutated protocol messages from many connections: the server
// answers or closes each connection, never crashes or hangs, and a valid
// client still gets the same answers afterwards.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "server/server_process.h"
#include "server/wire_client.h"

namespace cdb::test {
namespace {

// Valid messages (after startup) to start from; none of them can change
// the data or run the model, and mutations of them cannot either.
std::vector<std::string> templates() {
  auto z = [](std::string s) { return s + '\0'; };
  std::vector<std::string> t = {
      query_message("SHOW CORPORA"),
      query_message("SELECT name FROM corpora"),
      query_message("SHOW MODEL; SHOW JOBS"),
      query_message(""),
      query_message("ASK 'x' USING nowhere"),
      query_message("BEGIN"),
      query_message("ROLLBACK"),
      message('P', z("s") + z("SHOW CORPORA") + be16(0)),
      message('P', z("") + z("ASK $1 USING nowhere") + be16(1) + be32(25)),
      message('B', z("") + z("") + be16(0) + be16(1) + be32(3) + "abc" + be16(0)),
      message('B', z("p") + z("s") + be16(1) + be16(1) + be16(0) + be16(1) + be16(0)),
      message('D', "P" + z("")),
      message('D', "S" + z("s")),
      message('E', z("") + be32(0)),
      message('E', z("p") + be32(1)),
      message('C', "S" + z("s")),
      message('H', ""),
      message('S', ""),
  };
  return t;
}

std::string mutate(std::string m, std::mt19937& rng) {
  std::uniform_int_distribution<int> kind(0, 5);
  auto pos = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  switch (kind(rng)) {
    case 0:  // flip bytes
      for (int i = 0; i < 3; ++i) m[pos(m.size())] ^= static_cast<char>(1 << (rng() % 8));
      break;
    case 1:  // truncate the body, keeping the length field (the server waits for more)
      m.resize(pos(m.size()) + 1);
      break;
    case 2:  // a wrong length field
      if (m.size() >= 5) {
        const std::string len = be32(static_cast<uint32_t>(rng() % 64));
        m.replace(1, 4, len);
      }
      break;
    case 3:  // random type byte
      m[0] = static_cast<char>(rng());
      break;
    case 4: {  // insert garbage in the body
      std::string junk(rng() % 16, '\0');
      for (auto& c : junk) c = static_cast<char>(rng());
      m.insert(std::min(m.size(), size_t{5} + pos(m.size())), junk);
      break;
    }
    default: {  // pure noise
      m.assign(1 + rng() % 40, '\0');
      for (auto& c : m) c = static_cast<char>(rng());
    }
  }
  return m;
}

TEST(Fuzz, TenThousandBadMessagesThenCorrectAnswers) {
  ServerProcess server;
  ASSERT_EQ(server.psql(kSetupPets).status, 0);
  auto ask = [&] { return server.psql_rows("ASK 'Mia has a cat' USING pets WITH (max_tokens = 6)"); };
  const auto before = ask();
  ASSERT_EQ(before.status, 0) << before.output;

  const auto base = templates();
  constexpr int kThreads = 8, kConnections = 40, kMessages = 32;
  std::atomic<int> sent{0}, answered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(1234 + t);
      for (int c = 0; c < kConnections; ++c) {
        WireClient client(server.port());
        if (rng() % 10 == 0) {  // a mutated startup packet
          std::string body = be32(3 << 16) + "user" + '\0' + "fuzz" + '\0' + '\0';
          std::string startup = be32(body.size() + 4) + body;
          startup[rng() % startup.size()] ^= static_cast<char>(1 + rng() % 255);
          client.send(startup);
          ++sent;
        } else {
          client.startup("fuzz");
        }
        std::string batch;
        for (int m = 0; m < kMessages; ++m) {
          const std::string& tpl = base[rng() % base.size()];
          batch += rng() % 3 == 0 ? tpl : mutate(tpl, rng);
          ++sent;
        }
        client.send(batch);
        // Read whatever comes back until the server closes or goes quiet.
        while (auto r = client.read(std::chrono::milliseconds(300))) ++answered;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_GE(sent.load(), 10000);
  EXPECT_GT(answered.load(), kThreads * kConnections / 2);  // replies came, not only refusals

  // Still serving, and the same answer as before.
  const auto after = ask();
  ASSERT_EQ(after.status, 0) << after.output << server.log();
  EXPECT_EQ(after.output, before.output);
  EXPECT_EQ(server.psql("SHOW CORPORA").status, 0);
  EXPECT_EQ(server.stop(), 0) << server.log();
}

}  // namespace
}  // namespace cdb::test
