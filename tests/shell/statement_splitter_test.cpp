#include "shell/statement_splitter.h"

#include <gtest/gtest.h>

namespace cdb::shell {
namespace {

TEST(ShellSplitter, SplitsAtSemicolonsOutsideQuotesAndComments) {
  const Split s = split_statements("ADD DOCUMENT 'a; b' TO c;  SHOW \"x;y\"; -- c; d\nSHOW JOBS;\nASK 'q");
  ASSERT_EQ(s.statements.size(), 3u);
  EXPECT_EQ(s.statements[0].text, "ADD DOCUMENT 'a; b' TO c;");
  EXPECT_EQ(s.statements[0].offset, 0u);
  EXPECT_EQ(s.statements[1].text, "SHOW \"x;y\";");
  EXPECT_EQ(s.statements[1].offset, 27u);
  EXPECT_EQ(s.statements[2].text, "-- c; d\nSHOW JOBS;");
  EXPECT_EQ(s.rest, "\nASK 'q");
}

TEST(ShellSplitter, DropsEmptyStatementsAndKeepsAnUnfinishedRest) {
  const Split s = split_statements(";; -- only a comment\n ;SHOW\nCORPORA");
  EXPECT_TRUE(s.statements.empty());
  EXPECT_EQ(s.rest, "SHOW\nCORPORA");
  EXPECT_FALSE(is_blank(s.rest));
  EXPECT_TRUE(is_blank("  -- x\n\t-- y"));
  EXPECT_FALSE(is_blank("'--'"));
}

TEST(ShellSplitter, ScriptTakesAFinalStatementWithoutSemicolon) {
  const auto s = split_script("SHOW JOBS;\n  SHOW CORPORA  \n");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1].text, "SHOW CORPORA  \n");
  EXPECT_EQ(s[1].offset, 13u);
  EXPECT_TRUE(split_script("  -- nothing\n").empty());
}

TEST(ShellSplitter, UnterminatedQuoteKeepsEverythingAsTheRest) {
  const Split s = split_statements("SHOW JOBS; ADD DOCUMENT 'it''s; TO c;");
  ASSERT_EQ(s.statements.size(), 1u);
  EXPECT_EQ(s.rest, " ADD DOCUMENT 'it''s; TO c;");
}

}  // namespace
}  // namespace cdb::shell
