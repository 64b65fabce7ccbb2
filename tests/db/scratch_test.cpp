// scratch/ is disposable (docs/storage-format.md): it holds only what jobs
// make again, so a damaged one never keeps a data directory from opening.
#include <gtest/gtest.h>

#include <filesystem>

#include "planner_fixture.h"

namespace cdb::test {
namespace {

TEST(Scratch, ADamagedScratchIsStartedAfreshAndTheDataDirectoryOpens) {
  TempDir tmp("scratch");
  const auto dir = tmp.path() / "db";
  {
    Session s(dir, stories_options(/*workers=*/false));
    s.script(pip_and_lola_script());
  }
  const auto mdb = dir / "scratch" / "data.mdb";
  ASSERT_TRUE(std::filesystem::exists(mdb));
  std::filesystem::resize_file(mdb, 8192);  // shorter than its meta pages say
  Session again(dir, stories_options(/*workers=*/false));
  EXPECT_EQ(again.run("SELECT count(*) FROM corpora").rows[0][0], "2");
  EXPECT_GT(std::filesystem::file_size(mdb), 0u);
}

}  // namespace
}  // namespace cdb::test
