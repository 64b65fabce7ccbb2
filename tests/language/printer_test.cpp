// The canonical printer: exact output for each statement form, and the
// round trip parse(to_string(s)) == s over every form and tricky literal.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "language/parser.h"
#include "language/printer.h"

using namespace cdb::lang;

namespace {

// Written sloppily on purpose: the printer must canonicalize case, spacing
// and comments.
const std::vector<std::pair<std::string, std::string>> kCanonical = {
    {"create corpus Docs", "CREATE CORPUS docs"},
    {"CREATE CORPUS \"My Docs\" with ( description='It''s', cartridge_tokens=2048, auto_train=TRUE, lr=2e-2 )",
     "CREATE CORPUS \"My Docs\" WITH (description = 'It''s', cartridge_tokens = 2048, auto_train = true, "
     "lr = 0.02)"},
    {"add document 'x' to d", "ADD DOCUMENT 'x' TO d"},
    {"ADD DOCUMENT 'a\nb' AS 'n.md' TO d", "ADD DOCUMENT 'a\nb' AS 'n.md' TO d"},
    {"load file '/p' into d", "LOAD FILE '/p' INTO d"},
    {"LOAD DIRECTORY 'dir' PATTERN '*.md' INTO d", "LOAD DIRECTORY 'dir' PATTERN '*.md' INTO d"},
    {"LOAD DIRECTORY 'dir' INTO d", "LOAD DIRECTORY 'dir' INTO d"},
    {"REMOVE DOCUMENT 'n.md' FROM d", "REMOVE DOCUMENT 'n.md' FROM d"},
    {"DROP CORPUS \"with\"", "DROP CORPUS \"with\""},
    {"DROP CORPUS \"a\"\"b\"", "DROP CORPUS \"a\"\"b\""},
    {"DROP CORPUS \"lower\"", "DROP CORPUS lower"},
    {"DROP CORPUS \"9lives\"", "DROP CORPUS \"9lives\""},
    {"show corpora", "SHOW CORPORA"},
    {"show documents in d", "SHOW DOCUMENTS IN d"},
    {"show cartridges", "SHOW CARTRIDGES"},
    {"show cartridges for d", "SHOW CARTRIDGES FOR d"},
    {"show jobs", "SHOW JOBS"},
    {"show cache", "SHOW CACHE"},
    {"show model", "SHOW MODEL"},
    {"show nodes", "SHOW NODES"},
    {"train cartridge for d", "TRAIN CARTRIDGE FOR d"},
    {"train cartridge for d with (steps=5, lr=1e-3, warm = false) -- c\n wait",
     "TRAIN CARTRIDGE FOR d WITH (steps = 5, lr = 0.001, warm = false) WAIT"},
    {"wait job 12", "WAIT JOB 12"},
    {"cancel job 3", "CANCEL JOB 3"},
    {"ask 'q?' using a,b with (max_tokens=64, temperature=0.0, mode='auto')",
     "ASK 'q?' USING a, b WITH (max_tokens = 64, temperature = 0.0, mode = 'auto')"},
    {"explain ask 'q' using a", "EXPLAIN ASK 'q' USING a"},
    {"pin cartridge for d", "PIN CARTRIDGE FOR d"},
    {"unpin cartridge for d", "UNPIN CARTRIDGE FOR d"},
    {"set Threads = 4", "SET threads = 4"},
    {"set x = -1e300", "SET x = -1e+300"},
    {"set x = 1.", "SET x = 1.0"},
    {"set x = ''", "SET x = ''"},
    {"select  *  from corpora -- c", "select  *  from corpora"},
    {"grant usage on corpus D to Bob", "GRANT USAGE ON CORPUS d TO bob"},
    {"GRANT USAGE ON CORPUS d TO public", "GRANT USAGE ON CORPUS d TO PUBLIC"},
    {"revoke usage on corpus d from \"Bob\"", "REVOKE USAGE ON CORPUS d FROM \"Bob\""},
    {"REVOKE USAGE ON CORPUS d FROM PUBLIC", "REVOKE USAGE ON CORPUS d FROM PUBLIC"},
    {"GRANT USAGE ON CORPUS d TO \"to\"", "GRANT USAGE ON CORPUS d TO \"to\""},
};

}  // namespace

TEST(Printer, CanonicalText) {
  for (const auto& [input, expected] : kCanonical) {
    EXPECT_EQ(to_string(parse_statement(input)), expected) << input;
  }
}

TEST(Printer, RoundTrip) {
  for (const auto& [input, expected] : kCanonical) {
    const Statement first = parse_statement(input);
    const Statement again = parse_statement(to_string(first));
    EXPECT_EQ(again, first) << input;
    EXPECT_EQ(to_string(again), to_string(first)) << input;
  }
}

TEST(Printer, RoundTripOfAWholeScript) {
  const std::string script =
      "CREATE CORPUS a; ADD DOCUMENT '--not a comment; ''quoted''' TO a;\n"
      "ASK 'x' USING a, \"B c\" WITH (temperature = 0.1, lr = 3e-05); SELECT ';' FROM t";
  const auto statements = parse_script(script);
  ASSERT_EQ(statements.size(), 4u);
  const std::string printed = to_string(statements);
  EXPECT_EQ(printed,
            "CREATE CORPUS a;\n"
            "ADD DOCUMENT '--not a comment; ''quoted''' TO a;\n"
            "ASK 'x' USING a, \"B c\" WITH (temperature = 0.1, lr = 3e-05);\n"
            "SELECT ';' FROM t;\n");
  EXPECT_EQ(parse_script(printed), statements);
}

TEST(Printer, EqualityIgnoresPositionsButNotMeaning) {
  EXPECT_EQ(parse_statement("SHOW JOBS"), parse_statement("\n\n   show   jobs"));
  EXPECT_NE(parse_statement("DROP CORPUS a"), parse_statement("DROP CORPUS b"));
  EXPECT_NE(parse_statement("DROP CORPUS a"), parse_statement("SHOW CARTRIDGES FOR a"));
  EXPECT_NE(parse_statement("SET x = 1"), parse_statement("SET x = 1.0"));  // integer vs float
  EXPECT_NE(parse_statement("TRAIN CARTRIDGE FOR a"), parse_statement("TRAIN CARTRIDGE FOR a WAIT"));
  EXPECT_NE(parse_statement("ASK 'q' USING a, b"), parse_statement("ASK 'q' USING b, a"));
}

TEST(Printer, QuoteName) {
  EXPECT_EQ(quote_name("docs_2"), "docs_2");
  EXPECT_EQ(quote_name("_x"), "_x");
  EXPECT_EQ(quote_name("Docs"), "\"Docs\"");
  EXPECT_EQ(quote_name("in"), "\"in\"");
  EXPECT_EQ(quote_name("jobs"), "jobs");
  EXPECT_EQ(quote_name("a b"), "\"a b\"");
  EXPECT_EQ(quote_name("x\"y"), "\"x\"\"y\"");
}

TEST(Printer, Values) {
  EXPECT_EQ(to_string(Value(std::int64_t{-3})), "-3");
  EXPECT_EQ(to_string(Value(0.02)), "0.02");
  EXPECT_EQ(to_string(Value(2.0)), "2.0");
  EXPECT_EQ(to_string(Value(1e21)), "1e+21");
  EXPECT_EQ(to_string(Value(std::string("it's"))), "'it''s'");
  EXPECT_EQ(to_string(Value(true)), "true");
  EXPECT_EQ(quote_string(""), "''");
}
