// Issue 14's wire-protocol defects, each reproduced against a real
// `cartridge serve`: unauthenticated sockets can neither hold every
// descriptor nor make the server spin (6), big messages are bounded in
// size and in memory all together (7), Bind's result format count is
// checked (8), SCRAM does not tell unknown users from real ones (9), and
// --listen takes IPv6 and host names, naming a value it cannot use (10).
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <utility>

#include "server/server_process.h"
#include "server/wire_client.h"

namespace cdb::test {
namespace {

using namespace std::chrono_literals;

// User plus system CPU time that process `pid` has used, in seconds.
double cpu_seconds(pid_t pid) {
  const std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  std::istringstream in(stat.substr(stat.rfind(')') + 1));
  std::vector<std::string> fields;  // from field 3 (the state) on
  for (std::string f; in >> f;) fields.push_back(f);
  return (std::stod(fields.at(14 - 3)) + std::stod(fields.at(15 - 3))) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

size_t open_descriptors(pid_t pid) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) ++n;
  return n;
}

// The peak resident memory of `pid` so far (VmHWM), in bytes.
size_t peak_rss(pid_t pid) {
  std::istringstream in(read_text("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  return 0;
}

std::string z(const std::string& s) { return s + '\0'; }
std::string sync_message() { return message('S', ""); }

// ---- defect 6: connections that never authenticate ---------------------------

TEST(StartupLimits, AnIdleUnauthenticatedSocketIsClosedAfterTheStartupTimeout) {
  ServerProcess server({"--auth", "trust", "--startup-timeout", "1"});
  WireClient idle(server.port());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(idle.closed_by_peer(20s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 15s);  // not the old 60 s

  // The timeout ends with the startup: a session may then stay idle.
  WireClient session(server.port());
  ASSERT_EQ(types_of(session.startup()).back(), 'Z');
  std::this_thread::sleep_for(1500ms);
  session.send(query_message("SHOW CORPORA"));
  EXPECT_EQ(types_of(session.until_ready()).back(), 'Z');
}

TEST(StartupLimits, ConnectionsOverThePreAuthCapAreRefusedAtOnceWith53300) {
  // The startup timeout must outlast accepting all five on a loaded machine:
  // were an idle one closed first, the fifth would be under the cap (at 2 s
  // this failed once under a full ctest -j2 with builds beside it).
  ServerProcess server({"--auth", "trust", "--max-startup-connections", "4", "--startup-timeout", "8"});
  std::vector<std::unique_ptr<WireClient>> idle;
  for (int i = 0; i < 4; ++i) idle.push_back(std::make_unique<WireClient>(server.port()));
  // The fifth is refused as soon as it is accepted, before it sends anything.
  WireClient late(server.port());
  const auto refusal = late.read(10s);
  ASSERT_TRUE(refusal.has_value());
  EXPECT_EQ(refusal->type, 'E');
  EXPECT_EQ(sqlstate_of(*refusal), "53300");
  EXPECT_TRUE(late.closed_by_peer(10s));
  // Once the idle ones have timed out, clients get in again.
  for (auto& c : idle) EXPECT_TRUE(c->closed_by_peer(20s));
  const auto r = server.psql("SHOW CORPORA");
  EXPECT_EQ(r.status, 0) << r.output << server.log();
}

TEST(StartupLimits, OutOfDescriptorsTheServerBacksOffInsteadOfSpinning) {
  // Defaults: the pre-auth cap (100) is above the descriptors left, so
  // accept() itself fails.
  ServerProcess server;
  rlimit limit{};
  ASSERT_EQ(::prlimit(server.pid(), RLIMIT_NOFILE, nullptr, &limit), 0);
  limit.rlim_cur = open_descriptors(server.pid()) + 8;
  ASSERT_EQ(::prlimit(server.pid(), RLIMIT_NOFILE, &limit, nullptr), 0);

  std::vector<std::unique_ptr<WireClient>> idle;
  for (int i = 0; i < 40; ++i) idle.push_back(std::make_unique<WireClient>(server.port()));
  // Until every descriptor is taken; then the server must be quiet, and say why.
  for (int i = 0; i < 200 && open_descriptors(server.pid()) < limit.rlim_cur; ++i) std::this_thread::sleep_for(50ms);
  ASSERT_GE(open_descriptors(server.pid()), limit.rlim_cur);
  std::this_thread::sleep_for(200ms);
  const double cpu_before = cpu_seconds(server.pid());
  std::this_thread::sleep_for(2s);
  const double cpu = cpu_seconds(server.pid()) - cpu_before;
  EXPECT_LT(cpu, 0.4) << "the accept loop spins: " << cpu << " s of CPU in 2 s";
  EXPECT_NE(server.log().find("cannot accept connections"), std::string::npos) << server.log();

  // The idle ones go away: the server accepts again and a client gets in.
  idle.clear();
  const auto r = server.psql("SHOW CORPORA");
  EXPECT_EQ(r.status, 0) << r.output << server.log();
  const std::string log = server.log();
  EXPECT_NE(log.find("accepting connections again"), std::string::npos) << log;
}

// ---- defect 7: big messages ----------------------------------------------------

TEST(MessageMemory, TheDefaultMessageLimitIsNearTheDocumentCap) {
  ServerProcess server;
  WireClient c(server.port());
  c.startup();
  c.send(std::string(1, 'Q') + be32((20u << 20) + 4));  // a 20 MiB Query: only its header
  const auto m = c.read(10s);
  ASSERT_TRUE(m.has_value()) << "a 20 MiB message was not refused from its header";
  EXPECT_EQ(m->type, 'E');
  EXPECT_EQ(sqlstate_of(*m), "54000");
}

TEST(MessageMemory, BigMessagesOverTheBudgetAreRefusedWith53200AndConnectionsGoOn) {
  ServerProcess server({"--auth", "trust", "--max-message-size", "3000000", "--max-message-memory", "4000000"});
  const std::string big_query = "SHOW CORPORA -- " + std::string(2500000, 'x');
  const std::string big = query_message(big_query);
  WireClient holder(server.port()), other(server.port());
  holder.startup();
  other.startup();
  // holder's big Query is in flight (its header and 1000 bytes) while other
  // sends `messages`; then holder's completes. Both answers, other's first.
  auto overlap = [&](const std::string& messages, int round) {
    holder.send(big.substr(0, 1000));
    std::this_thread::sleep_for(std::chrono::milliseconds(200 * (round + 1)));  // for the server to read it
    other.send(messages);
    auto answer = std::make_pair(other.until_ready(30s), std::vector<BackendMessage>());
    holder.send(big.substr(1000));
    answer.second = holder.until_ready(30s);
    return answer;
  };

  // The two do not fit together: one is refused (other's, unless the
  // server happened to read it first), and both connections go on.
  std::string refused;
  for (int round = 0; round < 5 && refused.empty(); ++round) {
    const auto [a, b] = overlap(big, round);
    for (const auto& ms : {a, b}) {
      ASSERT_FALSE(ms.empty());
      ASSERT_EQ(ms.back().type, 'Z') << types_of(ms);
      if (ms.front().type == 'E') refused = sqlstate_of(ms.front());
    }
  }
  EXPECT_EQ(refused, "53200");
  // In the extended protocol the refusal skips to Sync, as an error does.
  const std::string extended = message('P', z("") + z(big_query) + be16(0)) +
                               message('B', z("") + z("") + be16(0) + be16(0) + be16(0)) +
                               message('E', z("") + be32(0)) + sync_message();
  std::string skipped;
  for (int round = 0; round < 5 && skipped.empty(); ++round) {
    const auto answers = overlap(extended, round);
    if (types_of(answers.first) == "EZ") skipped = sqlstate_of(answers.first[0]);
  }
  EXPECT_EQ(skipped, "53200");
  other.send(query_message("SHOW CORPORA"));
  EXPECT_EQ(types_of(other.until_ready(30s)), "TCZ");

  // The memory is given back (just after the answers are sent: other may
  // need another try).
  std::string answer;
  for (int i = 0; i < 50 && answer != "TCZ"; ++i) {
    if (i > 0) std::this_thread::sleep_for(100ms);
    other.send(big);
    answer = types_of(other.until_ready(30s));
  }
  EXPECT_EQ(answer, "TCZ");
  EXPECT_EQ(server.stop(), 0) << server.log();
}

// Not a limit the engine can promise (its own copies are its own); the
// figure goes in the log of the run, and the bound catches the copies the
// wire path used to make (324 MB for 60 MB: over five of them).
TEST(MessageMemory, ASixteenMegabyteDocumentRaisesPeakMemoryByFewCopies) {
  ServerProcess server;
  ASSERT_EQ(server.psql("CREATE CORPUS big").status, 0);
  const size_t text_bytes = 16'000'000;
  const std::string add = query_message("ADD DOCUMENT '" + std::string(text_bytes, 'a') + "' TO big");
  WireClient c(server.port());
  c.startup();
  const size_t before = peak_rss(server.pid());
  ASSERT_GT(before, 0u);
  c.send(add);
  const auto ms = c.until_ready(120s);
  ASSERT_FALSE(ms.empty());
  ASSERT_EQ(ms.back().type, 'Z');
  ASSERT_NE(ms.front().type, 'E') << ms.front().body;
  const size_t rise = peak_rss(server.pid()) - before;
  std::printf("peak RSS rose by %.1f MB for one ADD DOCUMENT of %.1f MB\n", rise / 1e6, text_bytes / 1e6);
  EXPECT_LT(rise, 6 * text_bytes);
}

// ---- defect 8: Bind's counts ---------------------------------------------------

class BindCounts : public PetsServerTest {
 protected:
  // The column count of SHOW CORPORA, from Describe of a prepared statement.
  int16_t prepare_show_corpora(WireClient& c) {
    c.send(message('P', z("s") + z("SHOW CORPORA") + be16(0)) + message('D', "S" + z("s")) + sync_message());
    const auto ms = c.until_ready();
    EXPECT_EQ(types_of(ms), "1tTZ");
    return ms.size() == 4 ? static_cast<int16_t>((uint8_t(ms[2].body[0]) << 8) | uint8_t(ms[2].body[1])) : 0;
  }
  static std::string bind_result_formats(const std::vector<int16_t>& formats) {
    std::string b = z("") + z("s") + be16(0) + be16(0) + be16(static_cast<uint16_t>(formats.size()));
    for (int16_t f : formats) b += be16(static_cast<uint16_t>(f));
    return message('B', b);
  }
  static std::string describe_execute_sync() {
    return message('D', "P" + z("")) + message('E', z("") + be32(0)) + sync_message();
  }
};

TEST_F(BindCounts, TwoResultFormatsForANineColumnResultAre08P01AndTheSessionGoesOn) {
  WireClient c(server.port());
  c.startup();
  const int16_t columns = prepare_show_corpora(c);
  ASSERT_GT(columns, 2);
  c.send(bind_result_formats({0, 1}) + describe_execute_sync());
  auto ms = c.until_ready();
  ASSERT_EQ(types_of(ms), "EZ");
  EXPECT_EQ(sqlstate_of(ms[0]), "08P01");
  EXPECT_NE(ms[0].body.find("2 result formats"), std::string::npos) << ms[0].body;

  // None, one for all, and one per column are what the protocol allows; the
  // RowDescription says exactly what was asked.
  for (const auto& formats : {std::vector<int16_t>{}, std::vector<int16_t>{1}, std::vector<int16_t>(columns, 1)}) {
    c.send(bind_result_formats(formats) + describe_execute_sync());
    ms = c.until_ready();
    ASSERT_GE(ms.size(), 3u);
    ASSERT_EQ(types_of(ms).substr(0, 2), "2T") << formats.size() << " formats";
    const std::string& t = ms[1].body;
    // Each field ends with its 2-byte format code.
    for (size_t at = 2, i = 0; i < static_cast<size_t>(columns); ++i) {
      at = t.find('\0', at) + 1 + 4 + 2 + 4 + 2 + 4;
      const int16_t f = static_cast<int16_t>((uint8_t(t[at]) << 8) | uint8_t(t[at + 1]));
      EXPECT_EQ(f, formats.empty() ? 0 : 1) << "column " << i;
      at += 2;
    }
  }
}

TEST_F(BindCounts, AStatementWithMoreParametersThanBindCanCarryIsRefusedAtParse) {
  WireClient c(server.port());
  c.startup();
  c.send(message('P', z("") + z("ASK $40000 USING pets") + be16(0)) + message('D', "S" + z("")) + sync_message());
  const auto ms = c.until_ready();
  ASSERT_EQ(types_of(ms), "EZ");
  EXPECT_EQ(sqlstate_of(ms[0]), "54000");
}

// ---- defect 9: SCRAM for unknown users -------------------------------------------

// The salt (s=) and iteration count (i=) that `user` is challenged with.
std::pair<std::string, std::string> challenge(int port, const std::string& user) {
  WireClient c(port);
  c.send(startup_packet(user));
  auto m = c.read(30s);
  if (!m || m->type != 'R') return {};
  const std::string first = "n,,n=,r=fixednonce";
  c.send(message('p', z("SCRAM-SHA-256") + be32(static_cast<uint32_t>(first.size())) + first));
  m = c.read(30s);
  if (!m || m->type != 'R' || m->body.size() < 4) return {};
  const std::string server_first = m->body.substr(4);
  auto attribute = [&](const std::string& name) {
    const size_t at = server_first.find("," + name + "=");
    if (at == std::string::npos) return std::string();
    const size_t end = server_first.find(',', at + 1);
    return server_first.substr(at + 3, end == std::string::npos ? std::string::npos : end - at - 3);
  };
  return {attribute("s"), attribute("i")};
}

TEST(ScramUnknownUsers, TheSaltIsStableAcrossConnectionsAndRestartsAndShapedLikeARealOne) {
  TempDir dir("mock-salt");
  const std::string users = (dir.path() / "users").string();
  const auto added = run_command("echo 'pw' | " + std::string(CDB_BIN_DIR) + "/cartridge serve --users " +
                                 shell_quote(users) + " --add-user alice");
  ASSERT_EQ(added.status, 0) << added.output;
  const std::vector<std::string> args = {"--auth", "scram", "--users", users};
  std::pair<std::string, std::string> real, ghost, again, other, after_restart;
  {
    ServerProcess server(args);
    real = challenge(server.port(), "alice");
    ghost = challenge(server.port(), "ghost");
    again = challenge(server.port(), "ghost");
    other = challenge(server.port(), "phantom");
  }
  {
    ServerProcess server(args);
    after_restart = challenge(server.port(), "ghost");
  }
  ASSERT_FALSE(real.first.empty());
  ASSERT_FALSE(ghost.first.empty());
  EXPECT_EQ(ghost, again);
  EXPECT_EQ(ghost, after_restart);
  EXPECT_NE(ghost.first, other.first);  // not one salt for every unknown name
  EXPECT_EQ(ghost.first.size(), real.first.size());
  EXPECT_EQ(ghost.second, real.second);
  // What made it survive the restart: the secret, readable by the owner only.
  struct stat st {};
  ASSERT_EQ(::stat((users + ".secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
}

// ---- defect 10: --listen ------------------------------------------------------

TEST(Listen, LocalhostAndBracketedIpv6ListenAndCountAsLoopbackForTrust) {
  for (const std::string host : {"localhost", "[::1]"}) {
    ServerProcess server({"--auth", "trust", "--listen", host + ":0"});
    const std::string libpq_host = host == "localhost" ? host : "::1";
    const auto r = run_command("psql -X -At " +
                               shell_quote("host=" + libpq_host + " port=" + std::to_string(server.port()) +
                                           " user=t dbname=x connect_timeout=30") +
                               " -c 'SHOW CORPORA'");
    EXPECT_EQ(r.status, 0) << host << ": " << r.output << server.log();
  }
}

// What a server that cannot start says (the log), or "started".
std::string start_failure(const std::vector<std::string>& args) {
  try {
    ServerProcess server(args);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "started";
}

TEST(Listen, AValueThatCannotBeUsedIsNamedInTheError) {
  const std::pair<std::string, std::string> cases[] = {{"[::1", "'[::1'"},
                                                        {"[::1]x", "'[::1]x'"},
                                                        {"127.0.0.1:99999", "'127.0.0.1:99999'"},
                                                        {"no-such-host.invalid:0", "'no-such-host.invalid'"}};
  for (const auto& [bad, named] : cases) {
    const std::string out = start_failure({"--auth", "trust", "--listen", bad});
    EXPECT_NE(out.find(named), std::string::npos) << bad << ": " << out;
    EXPECT_EQ(out.find("Invalid argument"), std::string::npos) << out;
  }
  const std::string out = start_failure({"--auth", "trust", "--listen", "0.0.0.0:0"});
  EXPECT_NE(out.find("only allowed on a loopback address"), std::string::npos) << out;
}

}  // namespace
}  // namespace cdb::test
