// TLS with a generated certificate, timeouts, and SIGTERM while work runs.
#include <gtest/gtest.h>

#include <thread>

#include "server/server_process.h"
#include "server/wire_client.h"

namespace cdb::test {
namespace {

TEST(Tls, PsqlWithSslmodeRequire) {
  TempDir certs("certs");
  const auto crt = (certs.path() / "server.crt").string(), key = (certs.path() / "server.key").string();
  auto gen = run_command("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -keyout " +
                         shell_quote(key) + " -out " + shell_quote(crt));
  ASSERT_EQ(gen.status, 0) << gen.output;
  ServerProcess server({"--auth", "trust", "--tls-cert", crt, "--tls-key", key});
  auto r = server.psql("\\conninfo", "sslmode=require");
  ASSERT_EQ(r.status, 0) << r.output << server.log();
  EXPECT_NE(r.output.find("SSL connection (protocol: TLSv1.3"), std::string::npos) << r.output;
  ASSERT_EQ(server.psql(kSetupPets, "sslmode=require").status, 0);
  r = server.psql("ASK 'Mia' USING pets WITH (max_tokens = 4)", "sslmode=require");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("(1 row)"), std::string::npos) << r.output;
  // A message over 64 KiB is read straight into its buffer, through TLS too
  // (100 kB: under the 128 KiB a single argument to psql may have).
  r = server.psql("ADD DOCUMENT '" + std::string(100000, 'z') + "' TO pets", "sslmode=require");
  ASSERT_EQ(r.status, 0) << r.output << server.log();
  // Plain connections still work when the client does not ask for TLS.
  EXPECT_EQ(server.psql("SHOW MODEL", "sslmode=disable").status, 0);
}

TEST(Tls, SslRequestWithoutTlsIsAnsweredN) {
  ServerProcess server;
  auto r = server.psql("SHOW MODEL", "sslmode=require");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("server does not support SSL"), std::string::npos) << r.output;
  EXPECT_EQ(server.psql("SHOW MODEL", "sslmode=prefer").status, 0);
}

TEST(Timeouts, IdleSessionIsClosedWith57P05) {
  ServerProcess server({"--auth", "trust", "--idle-timeout", "0.5"});
  WireClient c(server.port());
  c.startup();
  auto m = c.read(std::chrono::seconds(30));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(sqlstate_of(*m), "57P05");
  EXPECT_TRUE(c.closed_by_peer());
}

TEST(Timeouts, StatementTimeoutCancelsWith57014) {
  ServerProcess server({"--auth", "trust", "--statement-timeout", "1"});
  ASSERT_EQ(server.psql(kSetupPets).status, 0);
  auto r = server.psql("TRAIN CARTRIDGE FOR pets WITH (steps = 5000) WAIT");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("57014: canceling statement due to statement timeout"), std::string::npos) << r.output;
  EXPECT_EQ(server.psql("SHOW MODEL").status, 0);
}

TEST(Shutdown, SigtermFinishesRunningWorkAndExitsCleanly) {
  ServerProcess server({"--auth", "trust", "--shutdown-grace", "1"});
  ASSERT_EQ(server.psql(kSetupPets).status, 0);
  WireClient idle(server.port());
  idle.startup();
  WireClient busy(server.port());
  busy.startup();
  busy.send(query_message("TRAIN CARTRIDGE FOR pets WITH (steps = 5000) WAIT"));
  ASSERT_TRUE(busy.read(std::chrono::seconds(60)).has_value());  // a progress notice: it runs
  const auto t0 = std::chrono::steady_clock::now();
  std::thread stopper([&] { EXPECT_EQ(server.stop(), 0) << server.log(); });
  auto m = idle.read(std::chrono::seconds(30));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(sqlstate_of(*m), "57P01");
  // The running statement is cancelled after the grace period.
  std::string codes;
  while (auto b = busy.read(std::chrono::seconds(30)))
    if (b->type == 'E') codes += sqlstate_of(*b) + " ";
  EXPECT_NE(codes.find("57P01"), std::string::npos) << codes;
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(30));
  EXPECT_NE(server.log().find("cartridge serve: stopped"), std::string::npos) << server.log();
}

}  // namespace
}  // namespace cdb::test
