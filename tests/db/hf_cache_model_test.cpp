// --model ORG/NAME from the local Hugging Face cache (engine/model_locator.h),
// on a cache tree written here in the hub's layout: files stored once under
// blobs/ and linked from snapshots/<revision>/, the revision named by
// refs/main. No network is involved anywhere.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

#include "cartridgedb/cartridgedb.h"
#include "common/error.h"
#include "engine/model_locator.h"
#include "support/temp_dir.h"
#include "support/tiny_chat_model.h"

namespace cdb {
namespace {

namespace fs = std::filesystem;

// Sets (or unsets) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) ::setenv(name, value->c_str(), 1);
    else ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_, old_->c_str(), 1);
    else ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

constexpr const char* kRevision = "0123456789abcdef0123456789abcdef01234567";

// Moves each file of `model` into hub/models--ORG--NAME/blobs and links it
// from snapshots/<rev>/, as huggingface_hub lays a download out.
fs::path add_to_cache(const fs::path& hub, const std::string& org, const std::string& name, const fs::path& model) {
  const fs::path repo = hub / ("models--" + org + "--" + name);
  const fs::path snap = repo / "snapshots" / kRevision;
  fs::create_directories(repo / "blobs");
  fs::create_directories(repo / "refs");
  fs::create_directories(snap);
  int n = 0;
  for (const auto& e : fs::directory_iterator(model)) {
    const std::string blob = "blob" + std::to_string(n++);
    fs::rename(e.path(), repo / "blobs" / blob);
    fs::create_symlink(fs::path("../../blobs") / blob, snap / e.path().filename());
  }
  std::ofstream(repo / "refs" / "main") << kRevision;
  return snap;
}

struct Caches {
  test::TempDir dir{"hf-cache"};
  fs::path hub_cache = dir.path() / "hub-cache", hf_home = dir.path() / "hf-home", home = dir.path() / "home";
  Caches() {
    for (const auto& p : {hub_cache, hf_home / "hub", home / ".cache" / "huggingface" / "hub"}) fs::create_directories(p);
  }
  // A tiny placeholder "model": the locator only resolves folders.
  fs::path put(const fs::path& hub, const std::string& org, const std::string& name) {
    const fs::path staged = dir.path() / ("staged-" + org + "-" + name + std::to_string(++puts));
    fs::create_directories(staged);
    std::ofstream(staged / "config.json") << "{}";
    return add_to_cache(hub, org, name, staged);
  }
  int puts = 0;
};

TEST(HfCacheModel, RepositoryIdsAreTellableFromPaths) {
  EXPECT_TRUE(is_hf_repo_id("meta-llama/Llama-3.2-1B-Instruct"));
  EXPECT_TRUE(is_hf_repo_id("Qwen/Qwen3-4B"));
  EXPECT_FALSE(is_hf_repo_id("stories260K.bin"));
  EXPECT_FALSE(is_hf_repo_id("/abs/model"));
  EXPECT_FALSE(is_hf_repo_id("a/b/c"));
  EXPECT_FALSE(is_hf_repo_id("../model"));
  EXPECT_FALSE(is_hf_repo_id("org/.."));
  EXPECT_FALSE(is_hf_repo_id("org/na me"));
}

TEST(HfCacheModel, CachesAreSearchedInTheDocumentedOrder) {
  Caches c;
  const fs::path in_home = c.put(c.home / ".cache" / "huggingface" / "hub", "org", "m");
  ScopedEnv home("HOME", c.home.string()), hf_home("HF_HOME", c.hf_home.string()),
      hub("HF_HUB_CACHE", c.hub_cache.string());
  EXPECT_EQ(locate_model("org/m"), in_home);
  const fs::path in_hf_home = c.put(c.hf_home / "hub", "org", "m");
  EXPECT_EQ(locate_model("org/m"), in_hf_home);
  const fs::path in_hub_cache = c.put(c.hub_cache, "org", "m");
  EXPECT_EQ(locate_model("org/m"), in_hub_cache);
}

TEST(HfCacheModel, AnExistingPathAlwaysWins) {
  Caches c;
  c.put(c.hub_cache, "org", "m");
  ScopedEnv hub("HF_HUB_CACHE", c.hub_cache.string());
  const fs::path cwd = fs::current_path();
  fs::create_directories(c.dir.path() / "work" / "org" / "m");
  fs::current_path(c.dir.path() / "work");
  const fs::path got = locate_model("org/m");
  fs::current_path(cwd);
  EXPECT_EQ(got, fs::path("org/m"));
}

TEST(HfCacheModel, AMissingModelSaysWhereItLookedAndHowToPlaceOne) {
  Caches c;
  ScopedEnv home("HOME", c.home.string()), hf_home("HF_HOME", c.hf_home.string()),
      hub("HF_HUB_CACHE", c.hub_cache.string());
  try {
    locate_model("meta-llama/Llama-3.2-1B-Instruct");
    FAIL() << "a model not in any cache was found";
  } catch (const NotFound& e) {
    const std::string m = e.what();
    for (const fs::path& p : {c.hub_cache, c.hf_home / "hub", c.home / ".cache" / "huggingface" / "hub"})
      EXPECT_NE(m.find((p / "models--meta-llama--Llama-3.2-1B-Instruct").string()), std::string::npos) << m;
    EXPECT_NE(m.find("huggingface-cli download meta-llama/Llama-3.2-1B-Instruct"), std::string::npos) << m;
  }
}

TEST(HfCacheModel, ARevisionThatLeavesTheCacheIsNotFollowed) {
  Caches c;
  c.put(c.hub_cache, "org", "m");
  ScopedEnv home("HOME", c.home.string()), hf_home("HF_HOME", std::nullopt),
      hub("HF_HUB_CACHE", c.hub_cache.string());
  std::ofstream(c.hub_cache / "models--org--m" / "refs" / "main", std::ios::trunc) << "../../../../etc";
  EXPECT_THROW(locate_model("org/m"), NotFound);
}

TEST(HfCacheModel, ADatabaseOpensAChatModelByItsRepositoryId) {
  Caches c;
  const fs::path staged = c.dir.path() / "download";
  test::write_tiny_chat_model(staged);
  const fs::path snap = add_to_cache(c.hub_cache, "test-org", "tiny-llama3-chat", staged);
  ScopedEnv hub("HF_HUB_CACHE", c.hub_cache.string());
  cartridgedb::OpenOptions o;
  o.model_path = "test-org/tiny-llama3-chat";
  auto db = cartridgedb::Database::open((c.dir.path() / "data").string(), o);
  cartridgedb::Result r = db->execute("SHOW MODEL");
  bool saw_path = false;
  for (const auto& row : r.rows)
    if (row.size() >= 2 && row[0] == "path") {
      saw_path = true;
      EXPECT_EQ(fs::path(row[1]), snap);
    }
  EXPECT_TRUE(saw_path);
  db->execute("CREATE CORPUS pets");
  db->execute("ADD DOCUMENT 'Mia has a cat named Tom.' TO pets");
  EXPECT_NO_THROW(db->execute("ASK 'Mia has a' USING pets WITH (max_tokens = 3, temperature = 0)"));
  // Reopened without --model, the directory's recorded snapshot is used.
  db.reset();
  auto again = cartridgedb::Database::open((c.dir.path() / "data").string(), {});
  EXPECT_EQ(again->execute("SHOW MODEL").rows, r.rows);
}

}  // namespace
}  // namespace cdb
