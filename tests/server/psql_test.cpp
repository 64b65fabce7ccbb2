// psql (Debian's postgresql-client) against a real `cartridge serve`.
#include <gtest/gtest.h>

#include "server/server_process.h"

namespace cdb::test {
namespace {

using Psql = PetsServerTest;

TEST_F(Psql, AskReturnsTheAnswerTable) {
  auto r = server.psql("ASK 'Mia has a cat' USING pets WITH (max_tokens = 8)");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("answer"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("sources"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("pets: icl"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("(1 row)"), std::string::npos) << r.output;

  // Unaligned, tuples only: the answer alone, identical on a second ask
  // (the default sampling is deterministic).
  auto a1 = server.psql_rows("ASK 'Mia has a cat' USING pets WITH (max_tokens = 8)");
  auto a2 = server.psql_rows("ASK 'Mia has a cat' USING pets WITH (max_tokens = 8)");
  ASSERT_EQ(a1.status, 0) << a1.output;
  EXPECT_GT(a1.output.size(), 5u);
  EXPECT_EQ(a1.output, a2.output);
}

TEST_F(Psql, ConninfoShowsTheConnection) {
  auto r = server.psql("\\conninfo");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("as user \"tester\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("port \"" + std::to_string(server.port()) + "\""), std::string::npos) << r.output;
}

TEST_F(Psql, ShowAndCatalogSelect) {
  auto r = server.psql("SHOW CORPORA");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("pets"), std::string::npos) << r.output;
  r = server.psql_rows("SELECT name, (SELECT count(*) FROM documents) FROM corpora");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output, "pets|2\n");
}

TEST_F(Psql, SeveralStatementsInOneQuery) {
  // psql sends the whole -c string as one Query message.
  auto r = server.psql("CREATE CORPUS notes; ADD DOCUMENT 'a; b' TO notes; SHOW DOCUMENTS IN notes");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("notes"), std::string::npos) << r.output;
  r = server.psql_rows("SELECT count(*) FROM documents");
  EXPECT_EQ(r.output, "3\n");
}

TEST_F(Psql, ErrorsCarrySqlstateAndPosition) {
  auto r = server.psql("ASK 'what is the plan?'");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("ERROR:  42601: syntax error at 1:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("expected USING"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("LINE 1: ASK 'what is the plan?'"), std::string::npos) << r.output;  // psql draws P

  r = server.psql("ASK 'x' USING nowhere");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("ERROR:  42P01"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("nowhere"), std::string::npos) << r.output;

  // The statements before the error ran; the ones after it did not.
  r = server.psql("CREATE CORPUS first_one; FOO; CREATE CORPUS never");
  EXPECT_NE(r.status, 0);
  r = server.psql_rows("SELECT name FROM corpora ORDER BY name");
  EXPECT_EQ(r.output, "first_one\npets\n");
}

TEST_F(Psql, TransactionBlocksTrackStatus) {
  // An error inside BEGIN aborts the block until ROLLBACK, as in PostgreSQL.
  auto r = run_command("printf '%s\\n' 'BEGIN;' 'SHOW CORPORA;' 'FOO;' 'SHOW CORPORA;' 'ROLLBACK;' 'SHOW MODEL;' | "
                       "psql -X -v VERBOSITY=verbose " + shell_quote(server.conninfo()));
  EXPECT_NE(r.output.find("25P02: current transaction is aborted"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ROLLBACK"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("property"), std::string::npos) << r.output;  // SHOW MODEL after the block
}

}  // namespace
}  // namespace cdb::test
