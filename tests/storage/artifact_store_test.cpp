// ArtifactStore: the same contract over a Store's catalogued artifacts,
// over a bare BlobStore (the planner's scratch) and over a bucket's
// scratch/ prefix (S3Artifacts, on s3rver), and the reason the first
// exists: a Store's open-time garbage collection keeps catalogued artifacts
// and deletes raw blobs.
#include "storage/artifact_store.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#include "common/error.h"
#include "storage/blob_store.h"
#include "storage/s3/s3_artifacts.h"
#include "storage/s3/s3_url.h"
#include "storage/store.h"
#include "support/s3rver_process.h"
#include "support/temp_dir.h"

namespace cdb {
namespace {

template <typename T>
std::vector<T> values(const DecodedTensor& t) {
  std::vector<T> v(t.bytes() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), t.data(), t.bytes());
  return v;
}

// Each test runs against both homes; reopen() closes and reopens the home.
class ArtifactStoreContract : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override { reopen(); }
  void reopen() {
    artifacts_.reset();
    store_.reset();
    blobs_.reset();
    if (std::string(GetParam()) == "store") {
      store_ = std::make_unique<Store>(tmp_.path() / "st");
      artifacts_ = std::make_unique<StoreArtifacts>(*store_);
    } else if (std::string(GetParam()) == "s3") {
      if (!s3_) s3_ = std::make_unique<test::S3rverProcess>();
      artifacts_ = std::make_unique<S3Artifacts>(parse_s3_url("s3://cdb-test/st"),
                                                 test::S3rverProcess::client_options(s3_->endpoint()));
    } else {
      blobs_ = std::make_unique<BlobStore>(tmp_.path() / "blobs");
      artifacts_ = std::make_unique<BlobArtifacts>(*blobs_);
    }
  }
  ArtifactStore& a() { return *artifacts_; }

  test::TempDir tmp_{"artifact-store"};
  std::unique_ptr<test::S3rverProcess> s3_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<BlobStore> blobs_;
  std::unique_ptr<ArtifactStore> artifacts_;
};

TEST_P(ArtifactStoreContract, RoundTripsReplacesWholeAndSurvivesReopening) {
  std::vector<float> w{1.5f, -2.f, 3.25f, 0.f, 7.f, -1.f};
  std::vector<int64_t> step{42};
  EXPECT_FALSE(a().contains("run/ckpt"));
  EXPECT_FALSE(a().get("run/ckpt").has_value());
  a().put("run/ckpt", {{"w", {DType::F32, {2, 3}, w.data()}}, {"step", {DType::I64, {}, step.data()}}},
          R"({"step": 42})");
  EXPECT_TRUE(a().contains("run/ckpt"));
  reopen();
  auto set = a().get("run/ckpt");
  ASSERT_TRUE(set.has_value());
  EXPECT_EQ(set->meta_json, R"({"step": 42})");
  ASSERT_EQ(set->tensors.size(), 2u);
  EXPECT_EQ(set->at("w", "ckpt").shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(values<float>(set->at("w", "ckpt")), w);
  EXPECT_EQ(values<int64_t>(set->at("step", "ckpt")), step);
  EXPECT_THROW(set->at("adam", "ckpt"), CorruptData);

  // A new set replaces the old one whole: "w" is gone, not left over.
  std::vector<int32_t> ids{9, 8, 7};
  a().put("run/ckpt", {{"ids", {DType::I32, {3}, ids.data()}}}, "{}");
  reopen();
  set = a().get("run/ckpt");
  ASSERT_TRUE(set.has_value());
  ASSERT_EQ(set->tensors.size(), 1u);
  EXPECT_EQ(values<int32_t>(set->at("ids", "ckpt")), ids);
  EXPECT_EQ(set->meta_json, "{}");
}

TEST_P(ArtifactStoreContract, NestedScopesStaySeparate) {
  std::vector<int32_t> x{1}, y{2};
  a().put("job/1", {{"x", {DType::I32, {1}, x.data()}}}, "{}");
  a().put("job/1/sub", {{"y", {DType::I32, {1}, y.data()}}}, "{}");
  a().put("job/1", {{"x", {DType::I32, {1}, y.data()}}}, "{}");  // must not touch job/1/sub
  auto outer = a().get("job/1");
  auto inner = a().get("job/1/sub");
  ASSERT_TRUE(outer && inner);
  EXPECT_EQ(outer->tensors.size(), 1u);
  EXPECT_EQ(values<int32_t>(outer->at("x", "outer")), y);
  ASSERT_EQ(inner->tensors.size(), 1u);
  EXPECT_EQ(values<int32_t>(inner->at("y", "inner")), y);
}

TEST_P(ArtifactStoreContract, RefusesBadNamesAndMetaBeforeWriting) {
  std::vector<int32_t> x{1};
  const TensorView v{DType::I32, {1}, x.data()};
  EXPECT_THROW(a().put("s", {{"", v}}, "{}"), InvalidArgument);
  EXPECT_THROW(a().put("s", {{"@meta", v}}, "{}"), InvalidArgument);
  EXPECT_THROW(a().put("s", {{"a/b", v}}, "{}"), InvalidArgument);
  EXPECT_THROW(a().put("s", {{"a", v}, {"a", v}}, "{}"), InvalidArgument);
  EXPECT_THROW(a().put("s", {{"a", v}}, "{not json"), InvalidArgument);
  EXPECT_THROW(a().put("", {{"a", v}}, "{}"), InvalidArgument);
  EXPECT_FALSE(a().contains("s"));
}

TEST_P(ArtifactStoreContract, RemovingAScopeRemovesTheScopesBelowItAndNoOther) {
  std::vector<int32_t> x{1};
  const TensorView v{DType::I32, {1}, x.data()};
  a().put("job/1/v1/data", {{"x", v}}, "{}");
  a().put("job/1/v1/checkpoint", {{"x", v}}, "{}");
  a().put("job/10/v1/data", {{"x", v}}, "{}");
  a().remove("job/1");
  a().remove("job/7");  // absent: no error
  EXPECT_FALSE(a().contains("job/1/v1/data"));
  EXPECT_FALSE(a().contains("job/1/v1/checkpoint"));
  EXPECT_TRUE(a().contains("job/10/v1/data"));
}

INSTANTIATE_TEST_SUITE_P(Homes, ArtifactStoreContract, ::testing::Values("store", "blobs", "s3"));

// A scratch object that is not what S3Artifacts wrote is CorruptData naming
// it, never a crash or a set read wrong.
TEST(S3Artifacts, ADamagedObjectIsCorruptDataNamingIt) {
  test::S3rverProcess s3;
  S3Artifacts a(parse_s3_url("s3://cdb-test/st"), test::S3rverProcess::client_options(s3.endpoint()));
  std::vector<float> w{1, 2, 3};
  a.put("job/1/ckpt", {{"w", {DType::F32, {3}, w.data()}}}, "{}");
  S3Client bucket(test::S3rverProcess::client_options(s3.endpoint()));
  const auto objects = bucket.list("st/scratch/job/1/ckpt/");
  ASSERT_EQ(objects.size(), 1u);
  const std::string key = objects[0].key;
  std::string body = bucket.get(key);
  ASSERT_FALSE(body.empty());
  bucket.put(key, body.substr(0, body.size() - 5));  // truncated
  try {
    a.get("job/1/ckpt");
    FAIL() << "a truncated object was read";
  } catch (const CorruptData& e) {
    EXPECT_NE(std::string(e.what()).find("s3://cdb-test/" + key), std::string::npos) << e.what();
  }
  bucket.put(key, "not a scratch object");
  EXPECT_THROW(a.get("job/1/ckpt"), CorruptData);
}

// A writer killed mid-PUT on an endpoint that writes in place (s3rver) leaves
// a torn newest object: the set before it is read, and the next put
// replaces both. A put leaves one object, and an earlier build's "@set" is
// read as the oldest.
TEST(S3Artifacts, ATornNewestSetFallsBackToTheWholeOneBeforeIt) {
  test::S3rverProcess s3;
  S3Artifacts a(parse_s3_url("s3://cdb-test/st"), test::S3rverProcess::client_options(s3.endpoint()));
  S3Client bucket(test::S3rverProcess::client_options(s3.endpoint()));
  std::vector<float> v1{1, 2, 3}, v2{4, 5, 6}, v3{7, 8, 9};
  a.put("job/2/ckpt", {{"w", {DType::F32, {3}, v1.data()}}}, R"({"step": 1})");
  a.put("job/2/ckpt", {{"w", {DType::F32, {3}, v2.data()}}}, R"({"step": 2})");
  auto objects = bucket.list("st/scratch/job/2/ckpt/");
  ASSERT_EQ(objects.size(), 1u);
  // What a killed writer leaves: a newer name holding the first bytes of a set.
  const std::string whole = bucket.get(objects[0].key);
  bucket.put(objects[0].key + "9", whole.substr(0, whole.size() / 2));
  auto set = a.get("job/2/ckpt");
  ASSERT_TRUE(set);
  EXPECT_EQ(set->meta_json, R"({"step": 2})");
  a.put("job/2/ckpt", {{"w", {DType::F32, {3}, v3.data()}}}, R"({"step": 3})");
  objects = bucket.list("st/scratch/job/2/ckpt/");
  ASSERT_EQ(objects.size(), 1u);
  EXPECT_EQ(a.get("job/2/ckpt")->meta_json, R"({"step": 3})");
  // Only torn objects: CorruptData, not an empty answer.
  bucket.put(objects[0].key, whole.substr(0, 10));
  EXPECT_THROW(a.get("job/2/ckpt"), CorruptData);
  // The single object of an earlier build.
  a.remove("job/3");
  bucket.put("st/scratch/job/3/ckpt/@set", whole);
  EXPECT_TRUE(a.contains("job/3/ckpt"));
  EXPECT_EQ(a.get("job/3/ckpt")->meta_json, R"({"step": 2})");
}

// Why StoreArtifacts exists: raw blobs written into a Store's own BlobStore
// are orphans to its garbage collection and vanish at the next open.
TEST(StoreArtifacts, RawBlobsInAStoreAreCollectedArtifactsAreNot) {
  test::TempDir tmp("artifact-gc");
  std::vector<float> w{1, 2, 3};
  {
    Store s(tmp.path());
    BlobArtifacts raw(s.blobs());
    raw.put("raw/ckpt", {{"w", {DType::F32, {3}, w.data()}}}, "{}");
    StoreArtifacts(s).put("kept/ckpt", {{"w", {DType::F32, {3}, w.data()}}}, "{}");
  }
  Store s(tmp.path());
  EXPECT_EQ(s.open_report().orphan_blobs_removed, 2u);  // raw/ckpt/w and raw/ckpt/@meta
  EXPECT_FALSE(BlobArtifacts(s.blobs()).contains("raw/ckpt"));
  auto kept = StoreArtifacts(s).get("kept/ckpt");
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(values<float>(kept->at("w", "kept")), w);
}

}  // namespace
}  // namespace cdb
