// The protocol byte by byte: the extended protocol with parameters, row
// limits and the skip-until-Sync recovery; message limits; CancelRequest.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "server/server_process.h"
#include "server/wire_client.h"

namespace cdb::test {
namespace {

std::string parse_msg(const std::string& name, const std::string& sql, const std::vector<uint32_t>& types = {}) {
  std::string b = name + '\0' + sql + '\0' + be16(static_cast<uint16_t>(types.size()));
  for (auto t : types) b += be32(t);
  return message('P', b);
}

std::string bind_msg(const std::string& portal, const std::string& stmt, const std::vector<std::string>& params) {
  std::string b = portal + '\0' + stmt + '\0' + be16(0) + be16(static_cast<uint16_t>(params.size()));
  for (const auto& p : params) b += be32(static_cast<uint32_t>(p.size())) + p;
  return message('B', b + be16(0));
}

std::string describe_portal(const std::string& portal) { return message('D', "P" + portal + '\0'); }
std::string describe_statement(const std::string& name) { return message('D', "S" + name + '\0'); }
std::string execute_msg(const std::string& portal, uint32_t max_rows = 0) { return message('E', portal + '\0' + be32(max_rows)); }
std::string sync_msg() { return message('S', ""); }

class Wire : public PetsServerTest {
 protected:
  Wire() : PetsServerTest({"--auth", "trust", "--max-message-size", "100000"}) {}
};

TEST_F(Wire, StartupSendsParametersKeyAndReady) {
  WireClient c(server.port());
  auto ms = c.startup();
  ASSERT_FALSE(ms.empty());
  EXPECT_EQ(ms.front().type, 'R');
  EXPECT_EQ(ms.back().type, 'Z');
  EXPECT_EQ(ms.back().body, "I");
  bool key = false, version = false;
  for (const auto& m : ms) {
    key = key || (m.type == 'K' && m.body.size() == 8);
    version = version || (m.type == 'S' && m.body.rfind(std::string("server_version") + '\0', 0) == 0);
  }
  EXPECT_TRUE(key);
  EXPECT_TRUE(version);
}

TEST_F(Wire, ExtendedProtocolWithParameters) {
  WireClient c(server.port());
  c.startup();
  // $1 text (quoted, so the quote in it is safe), $2 int4 (as a number).
  c.send(parse_msg("s1", "ASK $1 USING pets WITH (max_tokens = $2)", {25, 23}) +
         bind_msg("", "s1", {"Mia's cat", "4"}) + describe_portal("") + execute_msg("") + sync_msg());
  auto ms = c.until_ready();
  ASSERT_EQ(types_of(ms), "12TDCZ") << (ms.size() > 2 ? ms[2].body : "");
  EXPECT_NE(ms[2].body.find("answer"), std::string::npos);
  EXPECT_EQ(ms[4].body, std::string("ASK 1") + '\0');

  // The named statement is reused; a wrong parameter count is an error
  // that skips to Sync.
  c.send(bind_msg("", "s1", {"only one"}) + execute_msg("") + sync_msg() + bind_msg("p2", "s1", {"Ben", "2"}) +
         execute_msg("p2") + sync_msg());
  ms = c.until_ready();
  ASSERT_EQ(types_of(ms), "EZ");
  EXPECT_EQ(sqlstate_of(ms[0]), "08P01");
  ms = c.until_ready();
  EXPECT_EQ(types_of(ms), "2DCZ");
}

// SET belongs to the connection: another session keeps its own value.
TEST_F(Wire, SetIsPerSession) {
  WireClient a(server.port()), b(server.port());
  a.startup();
  b.startup();
  auto limit_of = [](const std::vector<BackendMessage>& ms) {
    for (const auto& m : ms) {
      const size_t at = m.type == 'D' ? m.body.find("answer up to ") : std::string::npos;
      if (at != std::string::npos) return m.body.substr(at, m.body.find(" tokens", at) - at);
    }
    return std::string("(none)");
  };
  a.send(query_message("SET max_tokens = 3"));
  ASSERT_EQ(types_of(a.until_ready()), "TDCZ");
  b.send(query_message("SET max_tokens = 7"));
  ASSERT_EQ(types_of(b.until_ready()), "TDCZ");
  a.send(query_message("EXPLAIN ASK 'Mia' USING pets"));
  EXPECT_EQ(limit_of(a.until_ready()), "answer up to 3");
  b.send(query_message("EXPLAIN ASK 'Mia' USING pets"));
  EXPECT_EQ(limit_of(b.until_ready()), "answer up to 7");
  WireClient c(server.port());
  c.startup();
  c.send(query_message("EXPLAIN ASK 'Mia' USING pets"));
  EXPECT_EQ(limit_of(c.until_ready()), "answer up to 64") << "a new session starts at the defaults";
}

// Describe of a prepared statement gives its parameters and its columns
// without running it (JDBC's getMetaData() before executing).
TEST_F(Wire, DescribeStatementGivesColumnsWithoutRunningIt) {
  WireClient c(server.port());
  c.startup();
  auto jobs = [&] {
    c.send(query_message("SHOW JOBS"));
    auto r = c.until_ready();
    return std::count_if(r.begin(), r.end(), [](const BackendMessage& m) { return m.type == 'D'; });
  };
  const auto jobs_before = jobs();
  c.send(parse_msg("ask", "ASK $1 USING pets WITH (max_tokens = $2)", {25, 0}) + describe_statement("ask") +
         parse_msg("sel", "SELECT name, id FROM corpora WHERE name = $1") + describe_statement("sel") +
         parse_msg("train", "TRAIN CARTRIDGE FOR pets WITH (steps = $1)") + describe_statement("train") + sync_msg());
  auto ms = c.until_ready();
  ASSERT_EQ(types_of(ms), "1tT1tT1tTZ") << (ms.size() > 2 ? ms[2].body : "");
  EXPECT_EQ(ms[1].body, be16(2) + be32(25) + be32(25)) << "an unspecified type is reported as text";
  EXPECT_NE(ms[2].body.find(std::string("answer") + '\0'), std::string::npos);
  EXPECT_NE(ms[2].body.find(std::string("sources") + '\0'), std::string::npos);
  EXPECT_NE(ms[5].body.find(std::string("name") + '\0'), std::string::npos);
  EXPECT_NE(ms[5].body.find(std::string("id") + '\0'), std::string::npos);
  EXPECT_NE(ms[8].body.find(std::string("job") + '\0'), std::string::npos);
  EXPECT_EQ(jobs(), jobs_before) << "nothing ran: no training job was queued";
}

TEST_F(Wire, ErrorSkipsToSyncThenRecovers) {
  WireClient c(server.port());
  c.startup();
  c.send(parse_msg("", "FOO BAR") + bind_msg("", "", {}) + describe_portal("") + execute_msg("") + sync_msg() +
         query_message("SHOW CORPORA"));
  auto ms = c.until_ready();
  ASSERT_EQ(types_of(ms), "12EZ");
  EXPECT_EQ(sqlstate_of(ms[2]), "42601");
  ms = c.until_ready();
  EXPECT_EQ(types_of(ms), "TDCZ");
}

TEST_F(Wire, ExecuteWithARowLimitSuspends) {
  WireClient c(server.port());
  c.startup();
  c.send(query_message("CREATE CORPUS more"));
  c.until_ready();
  c.send(parse_msg("", "SELECT name FROM corpora ORDER BY name") + bind_msg("", "", {}) + describe_portal("") +
         execute_msg("", 1) + execute_msg("", 1) + sync_msg());
  auto ms = c.until_ready();
  ASSERT_EQ(types_of(ms), "12TDsDCZ");
  EXPECT_NE(ms[3].body.find("more"), std::string::npos);
  EXPECT_NE(ms[5].body.find("pets"), std::string::npos);
}

TEST_F(Wire, EmptyQueryAndUnknownStatementNames) {
  WireClient c(server.port());
  c.startup();
  c.send(query_message("  -- nothing\n ;"));
  EXPECT_EQ(types_of(c.until_ready()), "IZ");
  c.send(bind_msg("", "missing", {}) + sync_msg());
  auto ms = c.until_ready();
  ASSERT_EQ(types_of(ms), "EZ");
  EXPECT_EQ(sqlstate_of(ms[0]), "26000");
}

TEST_F(Wire, TruncatedBodyIsAnErrorNotACrash) {
  WireClient c(server.port());
  c.startup();
  // A Bind whose parameter claims 50 bytes but has 3: the framing is
  // intact, so the connection survives the error.
  std::string b = std::string("\0\0", 2) + be16(0) + be16(1) + be32(50) + "abc";
  c.send(message('B', b) + sync_msg() + query_message("SHOW MODEL"));
  auto ms = c.until_ready();
  ASSERT_EQ(types_of(ms), "EZ");
  EXPECT_EQ(sqlstate_of(ms[0]), "08P01");
  const std::string t = types_of(c.until_ready());
  EXPECT_EQ(t.front(), 'T') << t;
  EXPECT_EQ(t.substr(t.size() - 2), "CZ") << t;
}

TEST_F(Wire, OversizedMessageIsAnErrorAndClose) {
  WireClient c(server.port());
  c.startup();
  c.send(query_message("SELECT '" + std::string(200000, 'x') + "'"));
  auto m = c.read();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->type, 'E');
  EXPECT_EQ(sqlstate_of(*m), "54000");
  EXPECT_NE(m->body.find("exceeds the server's limit of 100000 bytes"), std::string::npos);
  EXPECT_TRUE(c.closed_by_peer());

  WireClient bad_length(server.port());
  bad_length.startup();
  bad_length.send(std::string("Q") + be32(2));  // a length under 4
  m = bad_length.read();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(sqlstate_of(*m), "08P01");
  EXPECT_TRUE(bad_length.closed_by_peer());

  WireClient unknown_type(server.port());
  unknown_type.startup();
  unknown_type.send(message('!', "hello"));
  m = unknown_type.read();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(sqlstate_of(*m), "08P01");
  EXPECT_TRUE(unknown_type.closed_by_peer());

  // The server is fine.
  auto r = server.psql("SHOW MODEL");
  EXPECT_EQ(r.status, 0) << r.output;
}

TEST_F(Wire, CancelRequestStopsARunningTrain) {
  WireClient c(server.port());
  auto ms = c.startup();
  std::string key;
  for (const auto& m : ms)
    if (m.type == 'K') key = m.body;
  ASSERT_EQ(key.size(), 8u);
  c.send(query_message("TRAIN CARTRIDGE FOR pets WITH (steps = 5000) WAIT"));
  // Progress notices arrive while it runs.
  auto first = c.read(std::chrono::seconds(60));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->type, 'N');
  EXPECT_NE(first->body.find("job 1"), std::string::npos) << first->body;

  const auto t0 = std::chrono::steady_clock::now();
  {
    WireClient canceller(server.port());
    // A wrong secret does nothing; the right one cancels.
    std::string wrong = key;
    wrong[7] ^= 1;
    canceller.send(be32(16) + be32(80877102) + wrong);
    EXPECT_TRUE(canceller.closed_by_peer());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  {
    WireClient canceller(server.port());
    canceller.send(be32(16) + be32(80877102) + key);
    EXPECT_TRUE(canceller.closed_by_peer());
  }
  std::optional<BackendMessage> error;
  while (auto m = c.read(std::chrono::seconds(60))) {
    if (m->type == 'E') error = m;
    if (m->type == 'Z') break;
  }
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(sqlstate_of(*error), "57014");
  EXPECT_NE(error->body.find("canceling statement due to user request"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20));
  // TRAIN ... WAIT cancels its job too.
  CommandResult r;
  for (int i = 0; i < 100; ++i) {  // the worker may still be winding down
    r = server.psql_rows("SELECT state FROM jobs");
    if (r.output == "cancelled\n") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(r.output, "cancelled\n");
}

}  // namespace
}  // namespace cdb::test
