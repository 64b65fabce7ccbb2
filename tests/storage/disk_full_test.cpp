// A full disk, for real: a 3 MB tmpfs (mounting needs root; the test skips
// itself otherwise). A write that does not fit fails with a message that
// says so, and leaves the store as it was before that write.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <random>

#include "common/error.h"
#include "storage/store.h"
#include "support/temp_dir.h"

namespace cdb {
namespace {

class SmallDisk {
 public:
  explicit SmallDisk(const std::filesystem::path& at) : at_(at) {
    mounted_ = ::mount("tmpfs", at.c_str(), "tmpfs", 0, "size=3m") == 0;
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(at_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }

 private:
  std::filesystem::path at_;
  bool mounted_ = false;
};

std::string noise(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;  // incompressible: zstd cannot make it fit
}

TEST(DiskFull, AWriteThatDoesNotFitSaysSoAndLeavesTheStoreWhole) {
  test::TempDir tmp;
  SmallDisk disk(tmp.path());
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a small tmpfs here (needs root)";
  const auto dir = tmp.path() / "st";
  StoreOptions o;
  o.blobs.initial_map_bytes = size_t{64} << 20;
  int stored = 0;
  std::string message;
  {
    Store s(dir, o);
    s.create_corpus("c");
    for (int i = 0; i < 40; ++i) {
      try {
        s.put_document("c", "d" + std::to_string(i), noise(200000, static_cast<uint32_t>(i)));
        ++stored;
      } catch (const IoError& e) {
        message = e.what();
        break;
      }
    }
  }
  ASSERT_FALSE(message.empty()) << "40 x 200 kB fit in 3 MB?";
  EXPECT_NE(message.find("no space left on device"), std::string::npos) << message;
  EXPECT_NE(message.find("MB needed in"), std::string::npos) << message;
  EXPECT_EQ(message.find("Input/output error"), std::string::npos) << message;
  Store s(dir, o);
  EXPECT_TRUE(s.verify_all().ok());
  const auto docs = s.catalog().list_documents(1);
  EXPECT_EQ(docs.size(), static_cast<size_t>(stored));  // the failed one left no row
  for (int i = 0; i < stored; ++i)
    EXPECT_EQ(s.read_document("c", "d" + std::to_string(i)), noise(200000, static_cast<uint32_t>(i)));
}

}  // namespace
}  // namespace cdb
