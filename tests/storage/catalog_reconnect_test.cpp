// A PostgreSQL catalog survives its server's restart (or a failover behind
// the same address): a statement outside a transaction reconnects, a
// transaction the restart interrupted fails with an error saying it was
// rolled back and the next one reconnects, a COMMIT whose connection is
// lost says its outcome is unknown, the event listener hears what is sent
// after the restart, and a server gone for good is an error naming the
// catalog within the retry budget; a session ended under a statement
// already sent re-runs it only if it is a read. The tests that restart a
// cluster start their own, not the binary's shared one.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <libpq-fe.h>

#include "common/error.h"
#include "storage/catalog.h"
#include "storage/catalog_events.h"
#include "storage/catalog_location.h"
#include "storage/pg_catalog_url.h"
#include "storage/pg_connection.h"
#include "support/postgres_server.h"
#include "support/received_events.h"

namespace cdb {
namespace {

// A short budget, so that a test of the server gone for good is quick.
constexpr CatalogRetry kTestRetry{.retries = 3, .wait_ms = 100, .max_wait_ms = 400};

std::unique_ptr<Catalog> open_catalog(const std::string& url, CatalogRetry retry = kTestRetry) {
  return std::make_unique<Catalog>(open_catalog_connection(url, false, retry));
}

int64_t reconnects_of(const Catalog& c) { return dynamic_cast<const PgConnection&>(c.db()).reconnects(); }

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const IoError& e) {
    return e.what();
  }
  return "(no IoError)";
}

// Ends, as an administrator's pg_terminate_backend does, the session of
// `url`'s database that is running a statement containing `marker`, once
// it shows in pg_stat_activity (so: after the statement was sent).
// Returns whether it found one within 10 s.
bool terminate_session_running(const std::string& url, const std::string& marker) {
  const PgCatalogUrl u = parse_pg_catalog_url(url);
  std::unique_ptr<PGconn, decltype(&PQfinish)> admin(
      PQconnectdb(("host=127.0.0.1 port=" + std::to_string(u.port) + " dbname=" + u.dbname + " user=cdb").c_str()),
      &PQfinish);
  if (PQstatus(admin.get()) != CONNECTION_OK) return false;
  const std::string sql = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                          "AND datname = current_database() AND state = 'active' AND position('" + marker +
                          "' in query) > 0";
  for (int i = 0; i < 200; ++i) {
    std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(admin.get(), sql.c_str()), &PQclear);
    if (PQresultStatus(r.get()) == PGRES_TUPLES_OK && PQntuples(r.get()) > 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

TEST(CatalogReconnect, AReadLostAfterItWasSentRunsOnceMoreOnANewConnection) {
  const std::string url = test::PostgresServer::shared().create_database();
  PgConnection conn(parse_pg_catalog_url(url), kTestRetry);
  bool terminated = false;
  std::thread admin([&] { terminated = terminate_session_running(url, "pg_sleep(1.5)"); });
  auto c = conn.prepare("SELECT 7 FROM pg_sleep(1.5)");
  ASSERT_TRUE(c->step());
  EXPECT_EQ(c->int64(0), 7);
  admin.join();
  EXPECT_TRUE(terminated);
  EXPECT_EQ(conn.reconnects(), 1);
}

TEST(CatalogReconnect, AWriteLostAfterItWasSentOutsideATransactionSaysItsOutcomeIsUnknown) {
  const std::string url = test::PostgresServer::shared().create_database();
  PgConnection conn(parse_pg_catalog_url(url), kTestRetry);
  conn.exec("CREATE TABLE w (x integer)");
  bool terminated = false;
  std::thread admin([&] { terminated = terminate_session_running(url, "pg_sleep(1.5)"); });
  const std::string msg = message_of([&] { conn.exec("INSERT INTO w SELECT 1 FROM pg_sleep(1.5)"); });
  admin.join();
  EXPECT_TRUE(terminated);
  EXPECT_NE(msg.find("whether it took effect is unknown"), std::string::npos) << msg;
  // Not run again by itself; the next statement reconnects.
  conn.exec("INSERT INTO w VALUES (2)");
  auto c = conn.prepare("SELECT count(*), max(x) FROM w");
  ASSERT_TRUE(c->step());
  EXPECT_EQ(c->int64(0), 1);
  EXPECT_EQ(c->int64(1), 2);
}

TEST(CatalogReconnect, ACatalogKeepsWorkingAfterItsServerRestartsBetweenTwoStatements) {
  test::PostgresServer server;
  auto c = open_catalog(server.create_database());
  c->create_corpus("before");
  server.restart();
  // A read, then a write: both on the new connection.
  ASSERT_TRUE(c->find_corpus("before"));
  c->create_corpus("after");
  EXPECT_TRUE(c->find_corpus("after"));
  EXPECT_EQ(reconnects_of(*c), 1);
  // Restarted again between two writes.
  server.restart();
  c->create_corpus("again");
  EXPECT_EQ(c->list_corpora().size(), 3u);
  EXPECT_EQ(reconnects_of(*c), 2);
}

TEST(CatalogReconnect, ATransactionTheRestartInterruptsFailsAsRolledBackAndTheNextOneReconnects) {
  test::PostgresServer server;
  auto c = open_catalog(server.create_database());
  {
    Catalog::Transaction tx(*c);
    c->create_corpus("lost");
    server.restart();
    const std::string msg = message_of([&] { c->create_corpus("also-lost"); });
    EXPECT_NE(msg.find("inside a transaction, which the server rolled back"), std::string::npos) << msg;
    // The rest of that transaction must not run in autocommit on a new
    // connection: it fails too, until the rollback.
    const std::string rest = message_of([&] { c->create_corpus("never"); });
    EXPECT_NE(rest.find("was lost inside this transaction"), std::string::npos) << rest;
    EXPECT_THROW(tx.commit(), IoError);
  }  // ~Transaction rolls back: no error
  {
    Catalog::Transaction tx(*c);
    c->create_corpus("next");
    tx.commit();
  }
  EXPECT_TRUE(c->find_corpus("next"));
  EXPECT_FALSE(c->find_corpus("lost"));
  EXPECT_FALSE(c->find_corpus("also-lost"));
  EXPECT_FALSE(c->find_corpus("never"));
}

TEST(CatalogReconnect, ACommitWhoseConnectionIsLostSaysItsOutcomeIsUnknown) {
  test::PostgresServer server;
  auto c = open_catalog(server.create_database());
  {
    Catalog::Transaction tx(*c);
    c->create_corpus("maybe");
    server.restart();
    std::string msg;
    try {
      tx.commit();
    } catch (const IoError& e) {
      msg = e.what();
    }
    EXPECT_NE(msg.find("during COMMIT: whether the transaction committed is unknown"), std::string::npos) << msg;
  }
  c->create_corpus("later");  // the next statement reconnects
  EXPECT_TRUE(c->find_corpus("later"));
}

TEST(CatalogReconnect, TheListenerResyncsAfterARestartAndHearsWhatIsSentAfterIt) {
  test::PostgresServer server;
  const std::string url = server.create_database();
  auto writer = open_catalog(url);
  const int64_t corpus = writer->create_corpus("c").id;
  test::ReceivedEvents heard;
  CatalogEvents listener(url, heard.callback());
  server.restart();
  // Notifications sent while it was away are lost: it says so with a Resync
  // once it listens again, so that caches are dropped.
  ASSERT_TRUE(heard.wait_for(CatalogEvent{}, std::chrono::seconds(20)));
  writer->notify({CatalogEvent::Kind::CorpusDropped, corpus, 0});
  EXPECT_TRUE(heard.wait_for({CatalogEvent::Kind::CorpusDropped, corpus, 0}, std::chrono::seconds(10)));
}

TEST(CatalogReconnect, AServerGoneForGoodIsAnErrorNamingTheCatalogWithinTheRetryBudget) {
  test::PostgresServer server;
  std::string url = server.create_database();
  // With a password in the URL, which no message may show.
  url.replace(url.find("cdb@"), 4, "cdb:s3cret@");
  auto c = open_catalog(url);
  c->create_corpus("a");
  server.stop();
  const auto t0 = std::chrono::steady_clock::now();
  const std::string msg = message_of([&] { c->find_corpus("a"); });
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NE(msg.find("could not make it again: 4 attempts"), std::string::npos) << msg;
  EXPECT_NE(msg.find("cdb@127.0.0.1:" + std::to_string(server.port())), std::string::npos) << msg;
  EXPECT_EQ(msg.find("s3cret"), std::string::npos) << msg;
  // 100 + 200 + 400 ms of waits, and refused connections answer at once.
  EXPECT_LT(took, 5.0);
  // Back again: the next statement reconnects.
  server.start();
  EXPECT_TRUE(c->find_corpus("a"));
}

}  // namespace
}  // namespace cdb
