// Statement splitting, $n substitution and transaction verbs: the server's
// own lexical pass, which must agree with docs/language.md's rules.
#include <gtest/gtest.h>

#include "server/sql_text.h"

namespace cdb::server {
namespace {

std::vector<std::string> texts(std::string_view script) {
  std::vector<std::string> out;
  for (const auto& s : split_statements(script)) out.emplace_back(s.text);
  return out;
}

TEST(SqlText, SplitsAtSemicolonsOutsideQuotesAndComments) {
  EXPECT_EQ(texts("SHOW JOBS; ASK 'a;b' USING \"x;y\" -- c;d\n; ;;"),
            (std::vector<std::string>{"SHOW JOBS", "ASK 'a;b' USING \"x;y\" -- c;d\n"}));
  EXPECT_EQ(texts("ADD DOCUMENT 'it''s; fine' TO c"), (std::vector<std::string>{"ADD DOCUMENT 'it''s; fine' TO c"}));
  EXPECT_TRUE(texts("  -- only a comment\n ; ").empty());
  EXPECT_EQ(texts("SELECT ''"), (std::vector<std::string>{"SELECT ''"}));
  const auto parts = split_statements("SHOW JOBS;\n  SHOW CACHE");
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[1].offset, 13u);
}

TEST(SqlText, CountsAndSubstitutesParameters) {
  EXPECT_EQ(count_parameters("ASK $1 USING c WITH (max_tokens = $2) -- $9"), 2);
  EXPECT_EQ(count_parameters("ASK '$3' USING c"), 0);
  std::vector<Parameter> p = {{"it's", ParamKind::Text}, {"5", ParamKind::Number}};
  EXPECT_EQ(substitute_parameters("ASK $1 USING c WITH (max_tokens = $2)", p),
            "ASK 'it''s' USING c WITH (max_tokens = 5)");
  // A $n inside a string is text, not a parameter.
  EXPECT_EQ(substitute_parameters("ASK '$1' USING c", p), "ASK '$1' USING c");
  EXPECT_THROW(substitute_parameters("ASK $3 USING c", p), std::invalid_argument);
  EXPECT_THROW(substitute_parameters("ASK $1 USING c", {{std::nullopt, ParamKind::Text}}), std::invalid_argument);
  EXPECT_THROW(substitute_parameters("SET max_tokens = $1", {{"five", ParamKind::Number}}), std::invalid_argument);
  EXPECT_EQ(substitute_parameters("SET x = $1", {{"t", ParamKind::Boolean}}), "SET x = TRUE");
}

TEST(SqlText, UntypedParametersTakeTheirTypeFromContext) {
  std::vector<Parameter> p = {{"42", ParamKind::Unknown}, {"42", ParamKind::Unknown}, {"true", ParamKind::Unknown}};
  EXPECT_EQ(substitute_parameters("ASK $1 USING c WITH (max_tokens =$2, x = $3)", p),
            "ASK '42' USING c WITH (max_tokens =42, x = TRUE)");
}

TEST(SqlText, TransactionVerbs) {
  EXPECT_EQ(transaction_verb("begin"), TransactionVerb::Begin);
  EXPECT_EQ(transaction_verb("BEGIN ISOLATION LEVEL READ COMMITTED"), TransactionVerb::Begin);
  EXPECT_EQ(transaction_verb("START TRANSACTION"), TransactionVerb::Begin);
  EXPECT_EQ(transaction_verb("commit"), TransactionVerb::Commit);
  EXPECT_EQ(transaction_verb("END"), TransactionVerb::Commit);
  EXPECT_EQ(transaction_verb("ROLLBACK"), TransactionVerb::Rollback);
  EXPECT_EQ(transaction_verb("ABORT"), TransactionVerb::Rollback);
  EXPECT_EQ(transaction_verb("BEGINNING"), TransactionVerb::None);
  EXPECT_EQ(transaction_verb("SHOW JOBS"), TransactionVerb::None);
  EXPECT_EQ(transaction_verb("START JOB"), TransactionVerb::None);
}

TEST(SqlText, CharacterPositions) {
  EXPECT_EQ(characters_before("ASK 'é' USING", 9), 8u);  // é is two bytes
}

TEST(SqlText, NumbersAreCheckedByTheirWholeText) {
  auto as_number = [](const std::string& v) {
    try {
      return substitute_parameters("SET x = $1", {{v, ParamKind::Number}}) == "SET x = " + v;
    } catch (const std::invalid_argument&) {
      return false;
    }
  };
  for (const char* ok : {"1", "-1", "1.5", "-0.25", "5.", ".5", "1e10", "1E-3", "2.5e+7", "-.5e1"})
    EXPECT_TRUE(as_number(ok)) << ok;
  for (const char* bad : {"", "-", ".", "-.", "e5", "1e", "1e+", "--1", "1.2.3", " 1", "1 ", "0x10", "+1", "1e5.0",
                          "1_000", "nan"})
    EXPECT_FALSE(as_number(bad)) << bad;
}

// Issue 14, defect 2: std::regex_match recursed once per character; a
// number this long overflowed the stack (SIGSEGV) instead of being refused.
TEST(SqlText, AMillionDigitNumberIsRefusedWithoutRecursion) {
  const std::string digits(1'000'000, '7');
  try {
    substitute_parameters("SET max_tokens = $1", {{digits, ParamKind::Number}});
    FAIL() << "accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("the limit is 256"), std::string::npos) << e.what();
  }
  // Untyped after '=': too long to be a number, so it is text.
  EXPECT_EQ(substitute_parameters("SET max_tokens = $1", {{digits, ParamKind::Unknown}}),
            "SET max_tokens = '" + digits + "'");
}

TEST(SqlText, AParameterPastSixteenMiBIsRefused) {
  const std::string big((16u << 20) + 1, 'a');
  EXPECT_THROW(substitute_parameters("ADD DOCUMENT $1 TO c", {{big, ParamKind::Text}}), std::invalid_argument);
  EXPECT_NO_THROW(substitute_parameters("ADD DOCUMENT $1 TO c", {{big.substr(1), ParamKind::Text}}));
}

}  // namespace
}  // namespace cdb::server
