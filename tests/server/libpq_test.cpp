// C++ clients: libpqxx (parameters, prepared statements, error classes)
// and libpq itself (64 concurrent sessions asking while a TRAIN runs).
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <atomic>
#include <pqxx/pqxx>
#include <thread>

#include "server/server_process.h"

namespace cdb::test {
namespace {

class Libpq : public PetsServerTest {
 protected:
  Libpq() : PetsServerTest({"--auth", "trust", "--max-connections", "80"}) {}
};

TEST_F(Libpq, LibpqxxParametersPreparedAndErrors) {
  pqxx::connection c(server.conninfo());
  pqxx::nontransaction n(c);
  // libpqxx sends parameters untyped: max_tokens takes its type from '='.
  const pqxx::result r = n.exec_params("ASK $1 USING pets WITH (max_tokens = $2)", "Mia's cat", 6);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r.column_name(0), std::string("answer"));
  EXPECT_FALSE(r[0][0].as<std::string>().empty());
  EXPECT_EQ(r[0]["sources"].as<std::string>(), "pets: icl");

  c.prepare("ask", "ASK $1 USING pets WITH (max_tokens = 3)");
  const auto a = n.exec_prepared("ask", "Ben");
  const auto b = n.exec_prepared("ask", "Ben");
  EXPECT_EQ(a[0][0].as<std::string>(), b[0][0].as<std::string>());

  EXPECT_THROW(n.exec("ASK 'x'"), pqxx::syntax_error);
  EXPECT_THROW(n.exec("ASK 'x' USING nowhere"), pqxx::undefined_table);
  try {
    n.exec("ASK 'x' USING nowhere");
  } catch (const pqxx::sql_error& e) {
    EXPECT_EQ(e.sqlstate(), "42P01");
  }
  // A transaction (BEGIN ... COMMIT) around statements.
  n.commit();
  pqxx::work w(c);
  EXPECT_EQ(w.exec("SELECT count(*) FROM corpora")[0][0].as<int>(), 1);
  w.commit();
}

TEST_F(Libpq, AFailedTrainingJobIsSqlstate38000NotAnInternalError) {
  pqxx::connection c(server.conninfo());
  pqxx::nontransaction n(c);
  // A description longer than the model's window: self-study fails on the
  // worker with no room for a chunk of the corpus.
  std::string wordy;
  for (int i = 0; i < 200; ++i) wordy += "Pip the frog. ";
  n.exec("CREATE CORPUS wordy WITH (description = '" + wordy + "')");
  n.exec("ADD DOCUMENT 'Pip jumps.' TO wordy");
  try {
    n.exec("TRAIN CARTRIDGE FOR wordy WITH (steps = 1) WAIT");
    FAIL() << "the job succeeded";
  } catch (const pqxx::sql_error& e) {
    EXPECT_EQ(e.sqlstate(), "38000") << e.what();
    EXPECT_NE(std::string(e.what()).find("no room for a chunk"), std::string::npos) << e.what();
  }
}

TEST_F(Libpq, SixtyFourSessionsAskWhileATrainRuns) {
  auto t = server.psql("TRAIN CARTRIDGE FOR pets WITH (steps = 30)");
  ASSERT_EQ(t.status, 0) << t.output;
  constexpr int kClients = 64;
  std::atomic<int> ok{0};
  std::vector<std::string> failures(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      PGconn* c = PQconnectdb(server.conninfo().c_str());
      if (PQstatus(c) != CONNECTION_OK) {
        failures[i] = PQerrorMessage(c);
        PQfinish(c);
        return;
      }
      const std::string q = "question " + std::to_string(i);
      const char* values[] = {q.c_str()};
      PGresult* r = PQexecParams(c, "ASK $1 USING pets WITH (max_tokens = 3)", 1, nullptr, values, nullptr, nullptr, 0);
      if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && std::string(PQfname(r, 0)) == "answer")
        ++ok;
      else
        failures[i] = PQresultErrorMessage(r);
      PQclear(r);
      PQfinish(c);
    });
  }
  // The job was still training while the sessions asked.
  auto jobs = server.psql_rows("SELECT state FROM jobs");
  for (auto& th : threads) th.join();
  for (const auto& f : failures) EXPECT_EQ(f, "");
  EXPECT_EQ(ok.load(), kClients);
  EXPECT_TRUE(jobs.output == "running\n" || jobs.output == "queued\n") << jobs.output;
  auto done = server.psql("WAIT JOB 1");
  ASSERT_EQ(done.status, 0) << done.output;
  EXPECT_NE(done.output.find("done"), std::string::npos) << done.output;
}

TEST_F(Libpq, TooManyConnectionsIsRefusedWith53300) {
  std::vector<PGconn*> held;
  for (int i = 0; i < 80; ++i) {
    held.push_back(PQconnectdb(server.conninfo().c_str()));
    ASSERT_EQ(PQstatus(held.back()), CONNECTION_OK) << PQerrorMessage(held.back());
  }
  PGconn* extra = PQconnectdb(server.conninfo().c_str());
  EXPECT_NE(PQstatus(extra), CONNECTION_OK);
  EXPECT_NE(std::string(PQerrorMessage(extra)).find("too many clients"), std::string::npos) << PQerrorMessage(extra);
  PQfinish(extra);
  PQfinish(held.back());
  held.pop_back();
  // A slot freed is a slot usable (the close is noticed asynchronously).
  PGconn* again = nullptr;
  for (int i = 0; i < 100; ++i) {
    again = PQconnectdb(server.conninfo().c_str());
    if (PQstatus(again) == CONNECTION_OK) break;
    PQfinish(again);
    again = nullptr;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(again, nullptr);
  if (again) PQfinish(again);
  for (auto* c : held) PQfinish(c);
}

}  // namespace
}  // namespace cdb::test
