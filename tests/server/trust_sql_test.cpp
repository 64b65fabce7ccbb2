// Issue 14 over the wire: what a logged-in client sends through SELECT and
// parameters can neither crash the server nor stall other sessions, and the
// statement timeout and SIGTERM stop a SELECT as they stop other work.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>

#include "server/server_process.h"
#include "server/wire_client.h"

namespace cdb::test {
namespace {

using PgConn = std::unique_ptr<PGconn, void (*)(PGconn*)>;

PgConn pg_connect(const ServerProcess& server) { return PgConn(PQconnectdb(server.conninfo().c_str()), PQfinish); }

// The SQLSTATE of one statement ("00000": it succeeded).
std::string sqlstate_after(PGconn* c, const std::string& sql, int n_params = 0, const Oid* types = nullptr,
                           const char* const* values = nullptr) {
  PGresult* r = PQexecParams(c, sql.c_str(), n_params, types, values, nullptr, nullptr, 0);
  std::string code = "00000";
  if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
    const char* s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    code = s ? s : "no SQLSTATE (connection lost?)";
  }
  PQclear(r);
  return code;
}

// Counts forever; the statement timeout or a cancel is what ends it.
constexpr const char* kEndlessCte =
    "SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c)";

// Issue 14, defect 4: the CTE ran for 20+ s past a 2 s timeout, holding the
// catalog, and other sessions' SHOW CORPORA hung behind it.
TEST(ServerSelect, StatementTimeoutStopsAnEndlessCteWhileOtherSessionsGoOn) {
  ServerProcess server({"--auth", "trust", "--statement-timeout", "2"});
  ASSERT_EQ(server.psql(kSetupPets).status, 0);
  const auto t0 = std::chrono::steady_clock::now();
  auto endless = std::async(std::launch::async, [&] {
    PgConn c = pg_connect(server);
    return sqlstate_after(c.get(), kEndlessCte);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto other = std::async(std::launch::async, [&] { return server.psql_rows("SHOW CORPORA"); });
  ASSERT_EQ(other.wait_for(std::chrono::seconds(10)), std::future_status::ready) << "SHOW CORPORA waited for the SELECT";
  EXPECT_EQ(other.get().status, 0);
  ASSERT_EQ(endless.wait_for(std::chrono::seconds(30)), std::future_status::ready) << "the timeout did not stop it";
  EXPECT_EQ(endless.get(), "57014");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
}

// Issue 14, defect 4: SIGTERM could not stop a server running the CTE.
TEST(ServerSelect, ShutdownStopsARunningSelect) {
  ServerProcess server({"--auth", "trust", "--shutdown-grace", "1"});
  WireClient busy(server.port());
  busy.startup();
  busy.send(query_message(kEndlessCte));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto t0 = std::chrono::steady_clock::now();
  std::thread stopper([&] { EXPECT_EQ(server.stop(), 0) << server.log(); });
  std::string codes;
  while (auto m = busy.read(std::chrono::seconds(30)))
    if (m->type == 'E') codes += sqlstate_of(*m) + " ";
  stopper.join();
  EXPECT_EQ(codes, "57P01 ");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(15));
}

// Issue 14, defect 1: the second statement crashed the server.
TEST(ServerSelect, Fts3TokenizerIsRefusedAndTheServerStaysUp) {
  ServerProcess server;
  PgConn c = pg_connect(server);
  EXPECT_EQ(sqlstate_after(c.get(), "SELECT hex(fts3_tokenizer('simple'))"), "42501");
  EXPECT_EQ(sqlstate_after(c.get(), "SELECT fts3_tokenizer('simple', x'4141414141414141')"), "42501");
  EXPECT_NE(sqlstate_after(c.get(), "SELECT token FROM fts3tokenize WHERE input = 'hello world'"), "00000");
  EXPECT_EQ(sqlstate_after(c.get(), "SELECT count(*) FROM corpora"), "00000");
  EXPECT_EQ(server.stop(), 0) << server.log();
}

// Issue 14, defect 2: std::regex recursed once per digit and the server died
// with SIGSEGV.
TEST(ServerParameters, ASixtyThousandDigitNumberIsRefusedAndTheServerStaysUp) {
  ServerProcess server;
  ASSERT_EQ(server.psql(kSetupPets).status, 0);
  PgConn c = pg_connect(server);
  const std::string digits(60000, '7');
  const char* values[] = {digits.c_str()};
  const Oid int8[] = {20};
  EXPECT_EQ(sqlstate_after(c.get(), "SET max_tokens = $1", 1, int8, values), "22023");
  // Untyped after '=': too long for a number, so it is text, which
  // max_tokens does not take.
  EXPECT_NE(sqlstate_after(c.get(), "ASK 'x' USING pets WITH (max_tokens = $1)", 1, nullptr, values), "00000");
  EXPECT_EQ(PQstatus(c.get()), CONNECTION_OK);
  EXPECT_EQ(sqlstate_after(c.get(), "SHOW CORPORA"), "00000");
  EXPECT_EQ(server.stop(), 0) << server.log();
}

}  // namespace
}  // namespace cdb::test
