#include "shell/result_printer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace cdb::shell {
namespace {

cartridgedb::Result corpora() {
  cartridgedb::Result r;
  r.statement = "SHOW CORPORA";
  r.columns = {"corpus", "documents"};
  r.rows = {{"farm", "3"}, {"sea, \"deep\"", "12"}};
  r.text = "2 corpora";
  return r;
}

TEST(ShellPrinter, TableIsAlignedLikePsql) {
  EXPECT_EQ(format_result(corpora(), {}),
            "   corpus    | documents \n"
            "-------------+-----------\n"
            " farm        |         3 \n"
            " sea, \"deep\" |        12 \n"
            "(2 corpora)\n");
}

TEST(ShellPrinter, TableCutsLongCellsAndNewlinesWithoutSplittingUtf8) {
  cartridgedb::Result r;
  r.columns = {"text"};
  r.rows = {{"h\u00e9llo\nworld"}};
  PrintOptions o;
  o.max_cell = 3;
  const std::string s = format_result(r, o);
  EXPECT_NE(s.find(" h\u00e9l... \n"), std::string::npos) << s;
  o.max_cell = 60;
  EXPECT_NE(format_result(r, o).find(" h\u00e9llo world \n"), std::string::npos);
  EXPECT_EQ(display_width("h\u00e9llo"), 5u);
}

TEST(ShellPrinter, ExpandedShowsOneBlockPerRow) {
  PrintOptions o;
  o.expanded = true;
  EXPECT_EQ(format_result(corpora(), o),
            "-[ RECORD 1 ]-\n"
            "corpus    | farm\n"
            "documents | 3\n"
            "-[ RECORD 2 ]-\n"
            "corpus    | sea, \"deep\"\n"
            "documents | 12\n"
            "(2 corpora)\n");
}

TEST(ShellPrinter, CsvQuotesAsRfc4180) {
  PrintOptions o;
  o.format = Format::Csv;
  EXPECT_EQ(format_result(corpora(), o), "corpus,documents\r\nfarm,3\r\n\"sea, \"\"deep\"\"\",12\r\n");
}

TEST(ShellPrinter, JsonIsOneObjectPerResult) {
  PrintOptions o;
  o.format = Format::Json;
  const std::string s = format_result(corpora(), o);
  ASSERT_EQ(s.back(), '\n');
  EXPECT_EQ(s.find('\n'), s.size() - 1);
  const auto j = nlohmann::json::parse(s);
  EXPECT_EQ(j["statement"], "SHOW CORPORA");
  EXPECT_EQ(j["rows"][1]["corpus"], "sea, \"deep\"");
  EXPECT_EQ(j["rows"][1]["documents"], "12");
  EXPECT_EQ(j["text"], "2 corpora");
}

TEST(ShellPrinter, AskInATablePrintsTheAnswerAlone) {
  cartridgedb::Result r;
  r.statement = "ASK";
  r.columns = {"answer", "tokens"};
  r.rows = {{"Once upon a time", "4"}};
  r.text = "Once upon a time";
  EXPECT_EQ(format_result(r, {}), "Once upon a time\n");
  EXPECT_EQ(parse_format("csv"), Format::Csv);
  EXPECT_FALSE(parse_format("xml"));
}

}  // namespace
}  // namespace cdb::shell
