// Every statement form, parsed into its AST node; case-insensitive
// keywords, name normalization, scripts with several statements, comments
// and empty statements; spans; SELECT pass-through.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "language/parse_error.h"
#include "language/parser.h"

using namespace cdb::lang;

namespace {

template <typename T>
T parse_as(std::string_view text) {
  Statement s = parse_statement(text);
  const T* node = std::get_if<T>(&s);
  if (node == nullptr) {
    ADD_FAILURE() << "wrong statement kind " << statement_name(s) << " for: " << text;
    return T{};
  }
  return *node;
}

}  // namespace

TEST(Parser, CreateCorpus) {
  auto s = parse_as<CreateCorpus>("CREATE CORPUS docs");
  EXPECT_EQ(s.name, "docs");
  EXPECT_TRUE(s.options.empty());

  s = parse_as<CreateCorpus>(
      "CREATE CORPUS docs WITH (description = 'Team docs', cartridge_tokens = 2048, auto_train = true, "
      "lr = 2e-2, ratio = 0.5)");
  ASSERT_EQ(s.options.size(), 5u);
  EXPECT_EQ(s.options.items()[0].key, "description");
  EXPECT_EQ(s.options.get_string("description", ""), "Team docs");
  EXPECT_EQ(s.options.get_int("cartridge_tokens", 0), 2048);
  EXPECT_TRUE(s.options.get_bool("auto_train", false));
  EXPECT_DOUBLE_EQ(s.options.get_double("lr", 0), 0.02);
  EXPECT_DOUBLE_EQ(s.options.get_double("ratio", 0), 0.5);
  EXPECT_EQ(s.options.items()[4].key, "ratio");  // order kept
}

TEST(Parser, AddDocument) {
  auto s = parse_as<AddDocument>("ADD DOCUMENT 'Paris is the capital.' TO geo");
  EXPECT_EQ(s.text, "Paris is the capital.");
  EXPECT_FALSE(s.name.has_value());
  EXPECT_EQ(s.corpus, "geo");
  s = parse_as<AddDocument>("ADD DOCUMENT 'It''s here' AS 'notes.md' TO geo");
  EXPECT_EQ(s.text, "It's here");
  EXPECT_EQ(s.name, "notes.md");
}

TEST(Parser, LoadFileAndDirectory) {
  auto f = parse_as<LoadFile>("LOAD FILE '/data/a b.txt' INTO docs");
  EXPECT_EQ(f.path, "/data/a b.txt");
  EXPECT_EQ(f.corpus, "docs");
  auto d = parse_as<LoadDirectory>("LOAD DIRECTORY 'manual/' INTO docs");
  EXPECT_EQ(d.path, "manual/");
  EXPECT_FALSE(d.pattern.has_value());
  d = parse_as<LoadDirectory>("LOAD DIRECTORY 'manual/' PATTERN '*.md' INTO docs");
  EXPECT_EQ(d.pattern, "*.md");
  EXPECT_EQ(d.corpus, "docs");
}

TEST(Parser, RemoveAndDrop) {
  auto r = parse_as<RemoveDocument>("REMOVE DOCUMENT 'notes.md' FROM docs");
  EXPECT_EQ(r.name, "notes.md");
  EXPECT_EQ(r.corpus, "docs");
  EXPECT_EQ(parse_as<DropCorpus>("DROP CORPUS docs").name, "docs");
}

TEST(Parser, Show) {
  parse_as<ShowCorpora>("SHOW CORPORA");
  EXPECT_EQ(parse_as<ShowDocuments>("SHOW DOCUMENTS IN docs").corpus, "docs");
  EXPECT_FALSE(parse_as<ShowCartridges>("SHOW CARTRIDGES").corpus.has_value());
  EXPECT_EQ(parse_as<ShowCartridges>("SHOW CARTRIDGES FOR docs").corpus, "docs");
  parse_as<ShowJobs>("SHOW JOBS");
  parse_as<ShowCache>("SHOW CACHE");
  parse_as<ShowModel>("SHOW MODEL");
  parse_as<ShowNodes>("SHOW NODES");
}

TEST(Parser, TrainAndJobs) {
  auto t = parse_as<TrainCartridge>("TRAIN CARTRIDGE FOR docs");
  EXPECT_EQ(t.corpus, "docs");
  EXPECT_FALSE(t.wait);
  t = parse_as<TrainCartridge>("TRAIN CARTRIDGE FOR docs WITH (steps = 200, tokens = 512, lr = 2e-2) WAIT");
  EXPECT_TRUE(t.wait);
  EXPECT_EQ(t.options.get_int("steps", 0), 200);
  EXPECT_EQ(t.options.get_int("tokens", 0), 512);
  EXPECT_DOUBLE_EQ(t.options.get_double("lr", 0), 0.02);
  t = parse_as<TrainCartridge>("TRAIN CARTRIDGE FOR docs WAIT");
  EXPECT_TRUE(t.wait);
  EXPECT_TRUE(t.options.empty());

  EXPECT_EQ(parse_as<WaitJob>("WAIT JOB 7").job, 7);
  EXPECT_EQ(parse_as<CancelJob>("CANCEL JOB 0").job, 0);
}

TEST(Parser, Ask) {
  auto a = parse_as<Ask>("ASK 'What is the capital?' USING geo");
  EXPECT_EQ(a.question, "What is the capital?");
  EXPECT_EQ(a.corpora, (std::vector<std::string>{"geo"}));
  a = parse_as<Ask>("ASK 'q' USING a, B ,c WITH (max_tokens = 64, temperature = 0.7, mode = 'icl')");
  EXPECT_EQ(a.corpora, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(a.options.get_int("max_tokens", 0), 64);
  EXPECT_DOUBLE_EQ(a.options.get_double("temperature", 1), 0.7);
  EXPECT_EQ(a.options.get_string("mode", "auto"), "icl");
}

TEST(Parser, ExplainAsk) {
  const std::string text = "EXPLAIN ASK 'q' USING a WITH (mode = 'cartridge')";
  auto e = parse_as<Explain>(text);
  EXPECT_EQ(e.ask.question, "q");
  EXPECT_EQ(e.ask.corpora, (std::vector<std::string>{"a"}));
  EXPECT_EQ(e.ask.options.get_string("mode", ""), "cartridge");
  EXPECT_EQ(e.span.begin.offset, 0u);
  EXPECT_EQ(e.ask.span.begin.offset, 8u);  // the Ask starts at ASK
  EXPECT_EQ(e.ask.span.end, text.size());
}

TEST(Parser, PinUnpinSet) {
  EXPECT_EQ(parse_as<PinCartridge>("PIN CARTRIDGE FOR docs").corpus, "docs");
  EXPECT_EQ(parse_as<UnpinCartridge>("UNPIN CARTRIDGE FOR docs").corpus, "docs");
  auto s = parse_as<Set>("SET Cache_Size = 4");
  EXPECT_EQ(s.setting.key, "cache_size");
  EXPECT_EQ(s.setting.value, Value(std::int64_t{4}));
  EXPECT_EQ(s.setting.key_pos.column, 5u);
  EXPECT_EQ(s.setting.value_pos.column, 18u);
  EXPECT_EQ(parse_as<Set>("SET verbose = FALSE").setting.value, Value(false));
  EXPECT_EQ(parse_as<Set>("SET name = 'x'").setting.value, Value(std::string("x")));
  EXPECT_EQ(parse_as<Set>("SET t = -1.5").setting.value, Value(-1.5));
}

TEST(Parser, GrantAndRevokeNameACorpusAndAUserOrPublic) {
  auto g = parse_as<GrantUsage>("GRANT USAGE ON CORPUS Farm TO Bob");
  EXPECT_EQ(g.corpus, "farm");
  EXPECT_EQ(g.grantee, "bob");
  EXPECT_EQ(parse_as<GrantUsage>("grant usage on corpus farm to \"Bob\"").grantee, "Bob");
  EXPECT_EQ(parse_as<GrantUsage>("GRANT USAGE ON CORPUS farm TO PUBLIC").grantee, kPublic);
  auto r = parse_as<RevokeUsage>("REVOKE USAGE ON CORPUS farm FROM public");
  EXPECT_EQ(r.corpus, "farm");
  EXPECT_EQ(r.grantee, kPublic);
  EXPECT_EQ(statement_name(parse_statement("GRANT USAGE ON CORPUS farm TO bob")), "GRANT");
  EXPECT_EQ(statement_name(parse_statement("REVOKE USAGE ON CORPUS farm FROM bob")), "REVOKE");
  // Only USAGE exists, and only ON CORPUS; REVOKE takes FROM, not TO.
  EXPECT_THROW(parse_statement("GRANT SELECT ON CORPUS farm TO bob"), cdb::ParseError);
  EXPECT_THROW(parse_statement("GRANT USAGE ON farm TO bob"), cdb::ParseError);
  EXPECT_THROW(parse_statement("REVOKE USAGE ON CORPUS farm TO bob"), cdb::ParseError);
  EXPECT_THROW(parse_statement("GRANT USAGE ON CORPUS farm TO"), cdb::ParseError);
  // The new words stay usable as names: none of them is reserved.
  EXPECT_EQ(parse_as<CreateCorpus>("CREATE CORPUS usage").name, "usage");
  EXPECT_EQ(parse_as<GrantUsage>("GRANT USAGE ON CORPUS public TO grant").grantee, "grant");
}

TEST(Parser, SelectIsPassedThroughVerbatim) {
  auto s = parse_as<RawSelect>("select name, \"count\" FROM corpora WHERE note = 'a;b' AND x >= 3 -- tail");
  EXPECT_EQ(s.text, "select name, \"count\" FROM corpora WHERE note = 'a;b' AND x >= 3");

  const auto script = parse_script("SELECT * FROM jobs\n  ;SHOW JOBS");
  ASSERT_EQ(script.size(), 2u);
  EXPECT_EQ(std::get<RawSelect>(script[0]).text, "SELECT * FROM jobs");
  EXPECT_EQ(span_of(script[0]).end, 18u);
  EXPECT_TRUE(std::holds_alternative<ShowJobs>(script[1]));
  EXPECT_EQ(span_of(script[1]).begin.line, 2u);
  EXPECT_EQ(span_of(script[1]).begin.column, 4u);
}

TEST(Parser, KeywordsAreCaseInsensitive) {
  EXPECT_EQ(parse_statement("create corpus docs with (STEPS = 1)"),
            parse_statement("CREATE CORPUS docs WITH (steps = 1)"));
  EXPECT_EQ(parse_statement("tRaIn CaRtRiDgE fOr docs wait"), parse_statement("TRAIN CARTRIDGE FOR docs WAIT"));
  EXPECT_EQ(parse_statement("show cartridges for docs"), parse_statement("SHOW CARTRIDGES FOR docs"));
  EXPECT_EQ(parse_statement("ask 'q' using a with (mode = 'icl')"),
            parse_statement("ASK 'q' USING a WITH (mode = 'icl')"));
  EXPECT_EQ(std::get<Set>(parse_statement("set x = True")).setting.value, Value(true));
}

TEST(Parser, NamesAreLoweredUnlessQuoted) {
  EXPECT_EQ(parse_as<DropCorpus>("DROP CORPUS MyDocs").name, "mydocs");
  EXPECT_EQ(parse_as<DropCorpus>("DROP CORPUS \"MyDocs\"").name, "MyDocs");
  EXPECT_EQ(parse_as<DropCorpus>("DROP CORPUS \"my docs \"\"v2\"\"\"").name, "my docs \"v2\"");
  EXPECT_EQ(parse_as<DropCorpus>("DROP CORPUS \"with\"").name, "with");  // reserved word, quoted
  // Keywords that are not reserved are ordinary names.
  EXPECT_EQ(parse_as<DropCorpus>("DROP CORPUS jobs").name, "jobs");
  EXPECT_EQ(parse_as<ShowDocuments>("SHOW DOCUMENTS IN Model").corpus, "model");
  EXPECT_EQ(parse_as<Ask>("ASK 'q' USING select, \"A\"").corpora, (std::vector<std::string>{"select", "A"}));
}

TEST(Parser, ScriptsCommentsAndEmptyStatements) {
  EXPECT_TRUE(parse_script("").empty());
  EXPECT_TRUE(parse_script("  \n -- only a comment\n").empty());
  EXPECT_TRUE(parse_script(";;; ;").empty());

  const std::string script =
      "-- set up\n"
      "CREATE CORPUS docs;  -- the corpus\n"
      ";\n"
      "ADD DOCUMENT 'one; two' TO docs;\n"
      "TRAIN CARTRIDGE FOR docs\n"
      "  WITH (steps = 10) -- short run\n"
      "  WAIT;\n"
      "ASK 'q' USING docs";
  const auto s = parse_script(script);
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(statement_name(s[0]), "CREATE CORPUS");
  EXPECT_EQ(std::get<AddDocument>(s[1]).text, "one; two");
  EXPECT_TRUE(std::get<TrainCartridge>(s[2]).wait);
  EXPECT_EQ(statement_name(s[3]), "ASK");

  // Spans locate each statement in the script, without the ';'.
  const auto text = [&](const Statement& st) {
    const SourceSpan& sp = span_of(st);
    return script.substr(sp.begin.offset, sp.length());
  };
  EXPECT_EQ(text(s[0]), "CREATE CORPUS docs");
  EXPECT_EQ(span_of(s[0]).begin.line, 2u);
  EXPECT_EQ(text(s[1]), "ADD DOCUMENT 'one; two' TO docs");
  EXPECT_EQ(text(s[2]), "TRAIN CARTRIDGE FOR docs\n  WITH (steps = 10) -- short run\n  WAIT");
  EXPECT_EQ(span_of(s[3]).begin.line, 8u);
  EXPECT_EQ(text(s[3]), "ASK 'q' USING docs");
}

TEST(Parser, OptionPositions) {
  const auto t = parse_as<TrainCartridge>("TRAIN CARTRIDGE FOR d WITH (steps = 'many')");
  const Option* o = t.options.find("STEPS");
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->key_pos.column, 29u);
  EXPECT_EQ(o->value_pos.column, 37u);
  EXPECT_EQ(o->value_pos.offset, 36u);
}

TEST(Parser, ParseStatementWantsExactlyOne) {
  EXPECT_NO_THROW(parse_statement("SHOW JOBS;"));
  EXPECT_NO_THROW(parse_statement(";SHOW JOBS;;"));
  try {
    parse_statement("SHOW JOBS; SHOW CACHE");
    FAIL();
  } catch (const cdb::ParseError& e) {
    EXPECT_EQ(e.line(), 1u);
    EXPECT_EQ(e.column(), 12u);
    EXPECT_EQ(e.detail(), "expected one statement, found a second one");
  }
  try {
    parse_statement(" -- nothing\n;");
    FAIL();
  } catch (const cdb::ParseError& e) {
    EXPECT_EQ(e.line(), 2u);
    EXPECT_EQ(e.column(), 2u);
    EXPECT_EQ(e.detail(), "expected a statement, found end of input");
  }
}

// The examples in docs/language.md (its ```sql blocks) must parse.
TEST(Parser, DocumentationExamplesParse) {
  std::ifstream in(std::string(CDB_SOURCE_DIR) + "/docs/language.md");
  ASSERT_TRUE(in) << "docs/language.md not found";
  std::stringstream doc;
  doc << in.rdbuf();
  const std::string text = doc.str();
  int blocks = 0;
  for (std::size_t at = text.find("```sql\n"); at != std::string::npos; at = text.find("```sql\n", at)) {
    at += 7;
    const std::size_t end = text.find("```", at);
    ASSERT_NE(end, std::string::npos);
    EXPECT_NO_THROW(parse_script(text.substr(at, end - at))) << text.substr(at, end - at);
    ++blocks;
  }
  EXPECT_GE(blocks, 1);
}
