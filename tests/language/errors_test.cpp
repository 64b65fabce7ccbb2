// Invalid statements: each must fail with a cdb::ParseError at the exact
// line:column (and byte offset) of the offending token, saying what was
// expected.
#include <gtest/gtest.h>

#include <string>

#include "language/parse_error.h"
#include "language/parser.h"

using namespace cdb::lang;

namespace {

struct Case {
  const char* script;
  std::uint32_t line;
  std::uint32_t column;
  std::size_t offset;
  const char* detail;
};

// Columns count from 1; on line 1 of ASCII text the byte offset is column - 1.
const Case kCases[] = {
    {"FOO BAR", 1, 1, 0,
     "expected a statement (CREATE, ADD, LOAD, REMOVE, DROP, SHOW, TRAIN, WAIT, CANCEL, ASK, EXPLAIN, PIN, "
     "UNPIN, SET, GRANT, REVOKE or SELECT), found 'FOO'"},
    {"'text'", 1, 1, 0,
     "expected a statement (CREATE, ADD, LOAD, REMOVE, DROP, SHOW, TRAIN, WAIT, CANCEL, ASK, EXPLAIN, PIN, "
     "UNPIN, SET, GRANT, REVOKE or SELECT), found string 'text'"},
    {"CREATE CORPUS;", 1, 14, 13, "expected a corpus name, found ';'"},
    {"CREATE TABLE x", 1, 8, 7, "expected CORPUS, found 'TABLE'"},
    {"CREATE CORPUS a b", 1, 17, 16, "expected WITH or ';', found 'b'"},
    {"CREATE CORPUS a WITH (x = 1) extra", 1, 30, 29, "expected ';', found 'extra'"},
    {"ADD DOCUMENT 'abc", 1, 14, 13, "unterminated string: the quote opened here is never closed"},
    {"ADD DOCUMENT 'a' TO", 1, 20, 19, "expected a corpus name, found end of input"},
    {"ADD DOCUMENT notes TO x", 1, 14, 13, "expected the document text (a 'string'), found 'notes'"},
    {"ADD DOCUMENT 'a' INTO x", 1, 18, 17, "expected AS or TO, found 'INTO'"},
    {"LOAD 'x' INTO c", 1, 6, 5, "expected FILE or DIRECTORY, found string 'x'"},
    {"LOAD DIRECTORY 'd' PATTERN INTO c", 1, 28, 27, "expected a file pattern (a 'string'), found 'INTO'"},
    {"REMOVE DOCUMENT 'n' TO c", 1, 21, 20, "expected FROM, found 'TO'"},
    {"SHOW TABLES", 1, 6, 5, "expected CORPORA, DOCUMENTS, CARTRIDGES, JOBS, CACHE, NODES or MODEL, found 'TABLES'"},
    {"SHOW DOCUMENTS docs", 1, 16, 15, "expected IN, found 'docs'"},
    {"TRAIN CARTRIDGE FOR docs WITH (steps = 10, steps = 20)", 1, 44, 43,
     "duplicate option 'steps' (first given at 1:32)"},
    {"TRAIN CARTRIDGE FOR docs WITH (steps = 10, STEPS = 20)", 1, 44, 43,
     "duplicate option 'steps' (first given at 1:32)"},
    {"TRAIN CARTRIDGE FOR docs WITH ()", 1, 32, 31, "expected an option name, found ')'"},
    {"TRAIN CARTRIDGE FOR docs WITH (steps = 10,)", 1, 43, 42, "expected an option name, found ')'"},
    {"TRAIN CARTRIDGE FOR docs WITH (steps 10)", 1, 38, 37, "expected '=', found 10"},
    {"TRAIN CARTRIDGE FOR docs WITH (lr = fast)", 1, 37, 36,
     "expected a value (a number, a 'string', TRUE or FALSE), found 'fast'"},
    {"TRAIN CARTRIDGE FOR docs WITH (steps = 10", 1, 42, 41, "expected ',' or ')', found end of input"},
    {"TRAIN CARTRIDGE FOR docs WITH steps = 10", 1, 31, 30, "expected '(', found 'steps'"},
    {"TRAIN CARTRIDGE FOR x foo", 1, 23, 22, "expected WITH, WAIT or ';', found 'foo'"},
    {"TRAIN CARTRIDGE FOR x WAIT 3", 1, 28, 27, "expected ';', found 3"},
    {"TRAIN CARTRIDGE FOR wait", 1, 21, 20,
     "expected a corpus name, found reserved word 'wait' (write \"wait\" to use it as a name)"},
    {"WAIT JOB abc", 1, 10, 9, "expected a job id (an integer), found 'abc'"},
    {"WAIT JOB 1.5", 1, 10, 9, "expected a job id (an integer), found 1.5"},
    {"CANCEL JOB -3", 1, 12, 11, "job id must not be negative, found -3"},
    {"CANCEL 3", 1, 8, 7, "expected JOB, found 3"},
    {"WAIT JOB 99999999999999999999", 1, 10, 9, "number 99999999999999999999 is out of range (integers are 64-bit)"},
    {"ASK 'what is the plan?';", 1, 24, 23, "expected USING, found ';'"},
    {"ASK 'q' USING a b", 1, 17, 16, "expected ',', WITH or ';', found 'b'"},
    {"ASK 'q' USING a, a", 1, 18, 17, "corpus 'a' is listed twice in USING"},
    {"ASK 'q' USING A, \"a\"", 1, 18, 17, "corpus 'a' is listed twice in USING"},
    {"ASK 'q' USING WITH (mode = 'icl')", 1, 15, 14,
     "expected a corpus name, found reserved word 'WITH' (write \"with\" to use it as a name)"},
    {"ASK 'q' USING a,", 1, 17, 16, "expected a corpus name, found end of input"},
    {"ASK what USING a", 1, 5, 4, "expected the question (a 'string'), found 'what'"},
    {"EXPLAIN SHOW JOBS", 1, 9, 8, "expected ASK, found 'SHOW'"},
    {"PIN CARTRIDGE docs", 1, 15, 14, "expected FOR, found 'docs'"},
    {"UNPIN docs", 1, 7, 6, "expected CARTRIDGE, found 'docs'"},
    {"SET = 3", 1, 5, 4, "expected a setting name, found '='"},
    {"SET x 3", 1, 7, 6, "expected '=', found 3"},
    {"SET x = 12abc", 1, 9, 8, "malformed number '12abc'"},
    {"SET x = 1e999", 1, 9, 8, "number 1e999 is out of range"},
    {"SET x = on", 1, 9, 8, "expected a value (a number, a 'string', TRUE or FALSE), found 'on'"},
    {"DROP CORPUS \"abc", 1, 13, 12, "unterminated quoted name: the quote opened here is never closed"},
    {"DROP CORPUS \"\"", 1, 13, 12, "empty quoted name \"\""},
    {"DROP CORPUS docs *", 1, 18, 17, "expected ';', found '*'"},
    {"SELECT 'abc", 1, 8, 7, "unterminated string: the quote opened here is never closed"},
    // Positions on later lines: line and column restart, the offset does not.
    {"CREATE CORPUS a;\n\nDROP CORPUS b c;", 3, 15, 32, "expected ';', found 'c'"},
    {"SHOW JOBS;\nADD DOCUMENT 'abc\n def;\n", 2, 14, 24,
     "unterminated string: the quote opened here is never closed"},
    {"-- comment\nSHOW x", 2, 6, 16, "expected CORPORA, DOCUMENTS, CARTRIDGES, JOBS, CACHE, NODES or MODEL, found 'x'"},
    {"\tSHOW x", 1, 7, 6, "expected CORPORA, DOCUMENTS, CARTRIDGES, JOBS, CACHE, NODES or MODEL, found 'x'"},
    {"ADD DOCUMENT 'a\nb' TO x y", 2, 9, 24, "expected ';', found 'y'"},
    // Columns count characters: 'héllo' is 7 characters, 8 bytes.
    {"ADD DOCUMENT 'héllo' TO x y", 1, 27, 27, "expected ';', found 'y'"},
    {"SHOW JOBS é", 1, 11, 10,
     "unexpected character 'é' (names that are not [A-Za-z_][A-Za-z0-9_]* must be \"double-quoted\")"},
};

class InvalidStatement : public testing::TestWithParam<Case> {};

TEST_P(InvalidStatement, FailsAtTheExactPosition) {
  const Case& c = GetParam();
  try {
    parse_script(c.script);
    FAIL() << "no error for: " << c.script;
  } catch (const cdb::ParseError& e) {
    EXPECT_EQ(e.detail(), c.detail) << c.script;
    EXPECT_EQ(e.line(), c.line) << c.script;
    EXPECT_EQ(e.column(), c.column) << c.script;
    EXPECT_EQ(e.offset(), c.offset) << c.script;
    EXPECT_EQ(e.cause(), cdb::ParseErrorKind::Syntax) << c.script;
    EXPECT_EQ(std::string(e.what()), "syntax error at " + std::to_string(c.line) + ":" +
                                         std::to_string(c.column) + ": " + c.detail);
  }
}

INSTANTIATE_TEST_SUITE_P(Language, InvalidStatement, testing::ValuesIn(kCases));

TEST(ParseErrors, IsAnInvalidArgument) {
  try {
    parse_script("ASK 'what is the plan?';");
    FAIL();
  } catch (const cdb::InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "syntax error at 1:24: expected USING, found ';'");
  }
}

TEST(ParseErrors, OffsetGivesTheCaretLine) {
  const std::string script = "SHOW JOBS;\nTRAIN CARTRIDGE FOR docs WITH (steps 10);";
  try {
    parse_script(script);
    FAIL();
  } catch (const cdb::ParseError& e) {
    EXPECT_EQ(caret_excerpt(script, e.offset()),
              "TRAIN CARTRIDGE FOR docs WITH (steps 10);\n"
              "                                     ^");
  }
}

TEST(ParseErrors, LongStringsAreShortenedInMessages) {
  try {
    parse_script("ADD DOCUMENT 'a' TO x 'this is a rather long document text indeed'");
    FAIL();
  } catch (const cdb::ParseError& e) {
    EXPECT_EQ(e.detail(), "expected ';', found string 'this is a rather long do...'");
  }
}

// Every prefix and every one-byte corruption of a script exercising all
// forms either parses or raises a ParseError inside the text: never another
// exception, never a position past the end.
TEST(ParseErrors, PrefixesAndCorruptionsFailCleanly) {
  const std::string script =
      "CREATE CORPUS d WITH (description = 'x''y', cartridge_tokens = 2048, auto_train = true);\n"
      "ADD DOCUMENT 'a' AS 'n' TO d; LOAD FILE 'f' INTO d; LOAD DIRECTORY 'p' PATTERN '*.md' INTO \"D\";\n"
      "REMOVE DOCUMENT 'n' FROM d; SHOW CARTRIDGES FOR d; SHOW DOCUMENTS IN d; -- comment\n"
      "TRAIN CARTRIDGE FOR d WITH (steps = 10, lr = 2e-2) WAIT; WAIT JOB 1; CANCEL JOB 2;\n"
      "EXPLAIN ASK 'q' USING d, e WITH (mode = 'icl', temperature = -0.5); PIN CARTRIDGE FOR d;\n"
      "SET x = 1.5; SELECT * FROM t WHERE a = 'b;c'; DROP CORPUS d";
  ASSERT_EQ(parse_script(script).size(), 15u);
  const auto check = [](const std::string& text) {
    try {
      parse_script(text);
    } catch (const cdb::ParseError& e) {
      EXPECT_LE(e.offset(), text.size()) << text;
    }
  };
  for (std::size_t n = 0; n <= script.size(); ++n) check(script.substr(0, n));
  for (std::size_t i = 0; i < script.size(); ++i) {
    for (char c : {'\'', '"', ';', '(', 'x', '-', '1', ' '}) {
      std::string corrupted = script;
      corrupted[i] = c;
      check(corrupted);
    }
  }
}

}  // namespace
