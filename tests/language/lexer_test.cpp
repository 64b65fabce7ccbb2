// The lexer on its own: token kinds and values, positions (1-based lines,
// columns in characters, byte offsets), comments, quoting, numbers, and the
// helpers the shell uses (statement_complete, caret_excerpt, keywords).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "language/keywords.h"
#include "language/lexer.h"
#include "language/parse_error.h"

using namespace cdb::lang;

namespace {

std::vector<Token> lex_all(std::string_view text) {
  Lexer lexer(text);
  std::vector<Token> out;
  for (Token t = lexer.next(); t.kind != TokenKind::End; t = lexer.next()) out.push_back(t);
  return out;
}

cdb::ParseError lex_error(std::string_view text) {
  try {
    lex_all(text);
  } catch (const cdb::ParseError& e) {
    return e;
  }
  ADD_FAILURE() << "no error for: " << text;
  return cdb::ParseError({}, "none");
}

}  // namespace

TEST(Lexer, KindsAndValues) {
  const auto t = lex_all("CREATE corpus_1 'it''s' \"My \"\"Docs\"\"\" 42 2e-2 ( ) , = ;");
  ASSERT_EQ(t.size(), 11u);
  EXPECT_EQ(t[0].kind, TokenKind::Word);
  EXPECT_EQ(t[0].text, "CREATE");
  EXPECT_EQ(t[1].kind, TokenKind::Word);
  EXPECT_EQ(t[1].text, "corpus_1");
  EXPECT_EQ(t[2].kind, TokenKind::String);
  EXPECT_EQ(t[2].text, "it's");
  EXPECT_EQ(t[3].kind, TokenKind::QuotedName);
  EXPECT_EQ(t[3].text, "My \"Docs\"");
  EXPECT_EQ(t[4].kind, TokenKind::Integer);
  EXPECT_EQ(t[4].integer, 42);
  EXPECT_EQ(t[5].kind, TokenKind::Float);
  EXPECT_DOUBLE_EQ(t[5].real, 0.02);
  for (std::size_t i = 6; i < t.size(); ++i) EXPECT_EQ(t[i].kind, TokenKind::Symbol);
  EXPECT_EQ(t[10].text, ";");
}

TEST(Lexer, Numbers) {
  const auto t = lex_all("0 -7 1.5 .5 -0.25 3. 1E3 2e+2 -9223372036854775808");
  ASSERT_EQ(t.size(), 9u);
  EXPECT_EQ(t[0].integer, 0);
  EXPECT_EQ(t[1].kind, TokenKind::Integer);
  EXPECT_EQ(t[1].integer, -7);
  EXPECT_DOUBLE_EQ(t[2].real, 1.5);
  EXPECT_DOUBLE_EQ(t[3].real, 0.5);
  EXPECT_DOUBLE_EQ(t[4].real, -0.25);
  EXPECT_EQ(t[5].kind, TokenKind::Float);
  EXPECT_DOUBLE_EQ(t[5].real, 3.0);
  EXPECT_DOUBLE_EQ(t[6].real, 1000.0);
  EXPECT_DOUBLE_EQ(t[7].real, 200.0);
  EXPECT_EQ(t[8].integer, INT64_MIN);
}

TEST(Lexer, StringsKeepNewlinesAndEmptyStringsAreFine) {
  const auto t = lex_all("'line one\nline two' ''");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].text, "line one\nline two");
  EXPECT_EQ(t[1].kind, TokenKind::String);
  EXPECT_EQ(t[1].text, "");
  EXPECT_EQ(t[1].pos.line, 2u);
  EXPECT_EQ(t[1].pos.column, 11u);
}

TEST(Lexer, PositionsAreOneBasedAndCountCharacters) {
  const auto t = lex_all("SHOW\n  JOBS 'é' x");
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[0].pos.line, 1u);
  EXPECT_EQ(t[0].pos.column, 1u);
  EXPECT_EQ(t[0].pos.offset, 0u);
  EXPECT_EQ(t[0].end, 4u);
  EXPECT_EQ(t[1].pos.line, 2u);
  EXPECT_EQ(t[1].pos.column, 3u);
  EXPECT_EQ(t[1].pos.offset, 7u);
  // 'é' is 3 characters but 4 bytes: the column after it is 3 on, the offset 4.
  EXPECT_EQ(t[2].pos.column, 8u);
  EXPECT_EQ(t[3].pos.column, 12u);
  EXPECT_EQ(t[3].pos.offset, t[2].pos.offset + 5);
}

TEST(Lexer, CommentsAreSkipped) {
  const auto t = lex_all("-- leading\nSHOW -- trailing 'not a string\n JOBS --");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].text, "SHOW");
  EXPECT_EQ(t[1].text, "JOBS");
  EXPECT_EQ(t[1].pos.line, 3u);
  EXPECT_EQ(t[1].pos.column, 2u);
}

TEST(Lexer, MinusAloneIsASymbol) {
  const auto t = lex_all("- x");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].kind, TokenKind::Symbol);
  EXPECT_EQ(t[0].text, "-");
}

TEST(Lexer, EndRepeats) {
  Lexer lexer("  ");
  EXPECT_EQ(lexer.next().kind, TokenKind::End);
  const Token end = lexer.next();
  EXPECT_EQ(end.kind, TokenKind::End);
  EXPECT_EQ(end.pos.offset, 2u);
  EXPECT_EQ(end.pos.column, 3u);
}

TEST(Lexer, Errors) {
  auto e = lex_error("x 'abc");
  EXPECT_EQ(e.line(), 1u);
  EXPECT_EQ(e.column(), 3u);
  EXPECT_EQ(e.offset(), 2u);
  EXPECT_STREQ(e.what(), "syntax error at 1:3: unterminated string: the quote opened here is never closed");

  e = lex_error("x\n\"abc''");
  EXPECT_EQ(e.line(), 2u);
  EXPECT_EQ(e.column(), 1u);
  EXPECT_EQ(e.detail(), "unterminated quoted name: the quote opened here is never closed");

  e = lex_error("x 'it''");  // the '' is an escaped quote, so still open
  EXPECT_EQ(e.column(), 3u);

  e = lex_error("a 12abc");
  EXPECT_EQ(e.column(), 3u);
  EXPECT_EQ(e.detail(), "malformed number '12abc'");

  e = lex_error("1e");
  EXPECT_EQ(e.detail(), "malformed number '1e'");

  e = lex_error("  99999999999999999999");
  EXPECT_EQ(e.column(), 3u);
  EXPECT_EQ(e.detail(), "number 99999999999999999999 is out of range (integers are 64-bit)");

  e = lex_error("1e999");
  EXPECT_EQ(e.detail(), "number 1e999 is out of range");

  e = lex_error("ab ü");
  EXPECT_EQ(e.column(), 4u);
  EXPECT_EQ(e.detail().rfind("unexpected character 'ü'", 0), 0u);

  e = lex_error("a\x01");
  EXPECT_EQ(e.detail().rfind("unexpected character \\x01", 0), 0u);

  e = lex_error("\"\"");
  EXPECT_EQ(e.detail(), "empty quoted name \"\"");
}

TEST(Lexer, SkipToTerminatorRespectsQuotesAndDropsTrailingComments) {
  const std::string src = "a ';' \"x;\" b -- c;\n  ; rest";
  Lexer lexer(src);
  lexer.next();  // a
  const std::size_t end = lexer.skip_to_terminator();
  EXPECT_EQ(src.substr(0, end), "a ';' \"x;\" b");
  const Token semi = lexer.next();
  EXPECT_EQ(semi.text, ";");
  EXPECT_EQ(semi.pos.line, 2u);
  EXPECT_EQ(semi.pos.column, 3u);
  EXPECT_EQ(lexer.next().text, "rest");
}

TEST(StatementComplete, NeedsASemicolonOutsideQuotesAndComments) {
  EXPECT_FALSE(statement_complete(""));
  EXPECT_FALSE(statement_complete("SHOW JOBS"));
  EXPECT_TRUE(statement_complete("SHOW JOBS;"));
  EXPECT_TRUE(statement_complete("SHOW\nJOBS\n;\n"));
  EXPECT_TRUE(statement_complete(";"));
  EXPECT_FALSE(statement_complete("ADD DOCUMENT 'a;b"));
  EXPECT_TRUE(statement_complete("ADD DOCUMENT 'a;b' TO x;"));
  EXPECT_FALSE(statement_complete("ADD DOCUMENT 'it''s;"));
  EXPECT_TRUE(statement_complete("ADD DOCUMENT 'it''s'; "));
  EXPECT_FALSE(statement_complete("DROP CORPUS \"a;b"));
  EXPECT_FALSE(statement_complete("SHOW JOBS -- later;"));
  EXPECT_TRUE(statement_complete("SHOW JOBS -- later;\n;"));
}

TEST(CaretExcerpt, PointsAtTheOffset) {
  EXPECT_EQ(caret_excerpt("SHOW JOBZ;", 5), "SHOW JOBZ;\n     ^");
  EXPECT_EQ(caret_excerpt("SHOW JOBS;\nDROP x y;\n", 18), "DROP x y;\n       ^");
  EXPECT_EQ(caret_excerpt("\tASK x", 5), "\tASK x\n\t    ^");
  EXPECT_EQ(caret_excerpt("'é' x", 5), "'é' x\n    ^");  // columns, not bytes
  EXPECT_EQ(caret_excerpt("SHOW", 99), "SHOW\n    ^");
  EXPECT_EQ(caret_excerpt("", 0), "\n^");
}

TEST(Keywords, ListAndCompletion) {
  const auto all = keywords();
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
  EXPECT_TRUE(is_keyword("create"));
  EXPECT_TRUE(is_keyword("Cartridges"));
  EXPECT_FALSE(is_keyword("docs"));
  EXPECT_TRUE(is_reserved("with"));
  EXPECT_FALSE(is_reserved("jobs"));
  EXPECT_EQ(complete_keyword("car"), (std::vector<std::string_view>{"CARTRIDGE", "CARTRIDGES"}));
  EXPECT_EQ(complete_keyword("SH"), (std::vector<std::string_view>{"SHOW"}));
  EXPECT_TRUE(complete_keyword("zz").empty());
  EXPECT_EQ(complete_keyword("").size(), all.size());
  EXPECT_EQ(ascii_lower("MiXed_1"), "mixed_1");
  EXPECT_TRUE(iequals("Corpus", "CORPUS"));
  EXPECT_FALSE(iequals("Corpus", "CORPORA"));
}
