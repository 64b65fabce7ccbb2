// LOAD FILE / LOAD DIRECTORY: every file is checked before anything is
// stored, so a bad file loads nothing; errors name each bad file.
#include <gtest/gtest.h>

#include <fstream>

#include "db/document_loader.h"
#include "planner_fixture.h"

namespace cdb::test {
namespace {

void write(const std::filesystem::path& p, const std::string& bytes) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

class DocumentLoading : public ::testing::Test {
 protected:
  TempDir tmp;
  Session s{tmp.path() / "db", stories_options(false)};
  std::filesystem::path docs = tmp.path() / "docs";

  void SetUp() override {
    s.run("CREATE CORPUS stories");
    write(docs / "a.txt", "Pip the frog jumped.");
    write(docs / "b.md", "Lola the bird sang.");
    write(docs / "sub" / "c.txt", "Max flew a kite.");
    write(docs / ".hidden.txt", "never loaded");
  }
};

TEST_F(DocumentLoading, BadFileLoadsNothingAndIsNamed) {
  write(docs / "bad.txt", std::string("caf\xC3", 4) + "\xFF oops");
  write(docs / "empty.txt", "");
  try {
    s.run("LOAD DIRECTORY '" + docs.string() + "' INTO stories");
    FAIL() << "a bad file must fail the statement";
  } catch (const InvalidArgument& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("nothing was loaded"), std::string::npos) << m;
    EXPECT_NE(m.find("bad.txt: "), std::string::npos) << m;
    EXPECT_NE(m.find("not valid UTF-8 (first bad byte at offset 3)"), std::string::npos) << m;
    EXPECT_NE(m.find("empty.txt: "), std::string::npos) << m;
    EXPECT_EQ(m.find("a.txt: "), std::string::npos) << m;  // good files are not listed
  }
  EXPECT_EQ(s.run("SHOW DOCUMENTS IN stories").rows.size(), 0u);
  EXPECT_FALSE(s.db->store().catalog().latest_version(s.corpus_id("stories")));
}

TEST_F(DocumentLoading, DirectoryWithPatternAndRecursion) {
  write(docs / "bad.bin", "\xFF\xFE");
  auto r = s.run("LOAD DIRECTORY '" + docs.string() + "' PATTERN '*.txt' INTO stories");
  EXPECT_EQ(r.at(0, "documents"), "2");
  auto d = s.run("SHOW DOCUMENTS IN stories");
  ASSERT_EQ(d.rows.size(), 2u);
  EXPECT_EQ(d.rows[0][0], "a.txt");
  EXPECT_EQ(d.rows[1][0], "sub/c.txt");
  // Again: identical content, nothing new, no new version.
  auto again = s.run("LOAD DIRECTORY '" + docs.string() + "' PATTERN '*.txt' INTO stories");
  EXPECT_EQ(again.at(0, "added"), "0");
  EXPECT_THROW(s.run("LOAD DIRECTORY '" + docs.string() + "' PATTERN '*.pdf' INTO stories"), NotFound);
}

TEST_F(DocumentLoading, NameConflictLoadsNothing) {
  s.run("ADD DOCUMENT 'Something else.' AS 'b.md' TO stories");
  EXPECT_THROW(s.run("LOAD DIRECTORY '" + docs.string() + "' INTO stories"), InvalidArgument);
  EXPECT_EQ(s.run("SHOW DOCUMENTS IN stories").rows.size(), 1u);
}

TEST_F(DocumentLoading, LoadFileAndLimits) {
  auto r = s.run("LOAD FILE '" + (docs / "a.txt").string() + "' INTO stories");
  EXPECT_EQ(r.at(0, "added"), "1");
  EXPECT_THROW(s.run("LOAD FILE '" + (docs / "nope.txt").string() + "' INTO stories"), NotFound);
  EXPECT_THROW(s.run("LOAD FILE '" + docs.string() + "' INTO stories"), InvalidArgument);
  DocumentLimits lim;
  lim.max_file_bytes = 10;
  EXPECT_THROW(DocumentLoader(lim).read_file(docs / "a.txt"), InvalidArgument);
  EXPECT_THROW(s.run("ADD DOCUMENT '' TO stories"), InvalidArgument);
}

}  // namespace
}  // namespace cdb::test
