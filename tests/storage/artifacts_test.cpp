// Store artifacts: named tensors grouped by scope (training checkpoints,
// synthesized datasets), replaced atomically, kept by garbage collection.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "common/error.h"
#include "common/hash.h"
#include "storage/store.h"
#include "support/killed_child.h"
#include "support/store_keys.h"
#include "support/temp_dir.h"

namespace cdb {
namespace {

using test::all_blob_keys;
using test::referenced_keys;

template <typename T>
std::vector<T> read_as(const DecodedTensor& t) {
  std::vector<T> v(t.bytes() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), t.data(), t.bytes());
  return v;
}

TEST(Artifacts, RoundTripReplaceListAndRemove) {
  test::TempDir tmp;
  Store s(tmp.path() / "st");
  std::vector<float> weights(3000);
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<float>(i) * 0.5f - 7;
  std::vector<int64_t> step{1234};
  std::vector<int32_t> tokens(777);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int32_t>(i * 31 % 5000);
  auto rows = s.put_artifacts("job/17/checkpoint",
                              {{"lora.a", {DType::F32, {30, 100}, weights.data()}},
                               {"step", {DType::I64, {}, step.data()}},
                               {"tokens", {DType::I32, {777}, tokens.data()}}},
                              R"({"step": 1234})");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].name, "lora.a");  // put order
  EXPECT_EQ(rows[1].name, "step");
  EXPECT_EQ(rows[0].scope, "job/17/checkpoint");
  EXPECT_EQ(rows[0].dtype, "f32");
  EXPECT_EQ(rows[0].shape, "[30,100]");
  EXPECT_EQ(rows[1].shape, "[]");
  EXPECT_EQ(nlohmann::json::parse(rows[2].meta)["step"], 1234);
  EXPECT_EQ(rows[2].status, RowStatus::Ready);
  EXPECT_GT(rows[0].bytes, 0);
  EXPECT_FALSE(rows[0].created_at.empty());
  EXPECT_EQ(s.list_artifacts("job/17/checkpoint").size(), 3u);
  EXPECT_TRUE(s.list_artifacts("job/18/checkpoint").empty());

  auto a = s.read_artifact("job/17/checkpoint", "lora.a");
  EXPECT_EQ(a.dtype(), DType::F32);
  EXPECT_EQ(a.shape(), (std::vector<int64_t>{30, 100}));
  EXPECT_EQ(read_as<float>(a), weights);
  EXPECT_EQ(read_as<int64_t>(s.read_artifact("job/17/checkpoint", "step")), step);
  EXPECT_EQ(read_as<int32_t>(s.read_artifact("job/17/checkpoint", "tokens")), tokens);
  try {
    s.read_artifact("job/17/checkpoint", "nope");
    FAIL();
  } catch (const NotFound& e) {
    EXPECT_NE(std::string(e.what()).find("'nope' of scope 'job/17/checkpoint'"), std::string::npos) << e.what();
  }

  // Replacing swaps the whole set: names of the old set are gone, and so
  // are their blobs.
  step[0] = 1300;
  s.put_artifacts("job/17/checkpoint", {{"step", {DType::I64, {1}, step.data()}}}, R"({"step": 1300})");
  auto now = s.list_artifacts("job/17/checkpoint");
  ASSERT_EQ(now.size(), 1u);
  EXPECT_EQ(now[0].shape, "[1]");
  EXPECT_EQ(read_as<int64_t>(s.read_artifact("job/17/checkpoint", "step")), step);
  EXPECT_THROW(s.read_artifact("job/17/checkpoint", "lora.a"), NotFound);
  EXPECT_EQ(all_blob_keys(s), referenced_keys(s));
  EXPECT_EQ(s.stats().artifacts, 1u);

  // Prefix removal stops at a '/' boundary.
  for (const char* scope : {"job/17", "job/17/x", "job/170/checkpoint", "job/17x"})
    s.put_artifacts(scope, {{"step", {DType::I64, {1}, step.data()}}});
  EXPECT_EQ(s.remove_artifacts("job/17"), 3u);  // job/17, job/17/checkpoint, job/17/x
  EXPECT_TRUE(s.list_artifacts("job/17/checkpoint").empty());
  EXPECT_TRUE(s.list_artifacts("job/17").empty());
  EXPECT_EQ(s.list_artifacts("job/170/checkpoint").size(), 1u);
  EXPECT_EQ(s.list_artifacts("job/17x").size(), 1u);
  EXPECT_EQ(s.remove_artifacts("job/17"), 0u);
  EXPECT_EQ(all_blob_keys(s), referenced_keys(s));

  // An empty put leaves the scope empty.
  s.put_artifacts("job/17x", {});
  EXPECT_TRUE(s.list_artifacts("job/17x").empty());
  EXPECT_EQ(all_blob_keys(s), referenced_keys(s));
}

TEST(Artifacts, RefusedPutsChangeNothing) {
  test::TempDir tmp;
  Store s(tmp.path() / "st");
  int64_t x = 1;
  s.put_artifacts("d", {{"x", {DType::I64, {1}, &x}}});
  const auto before = all_blob_keys(s);
  EXPECT_THROW(s.put_artifacts("d", {{"x", {DType::I64, {1}, &x}}, {"x", {DType::I64, {1}, &x}}}), InvalidArgument);
  EXPECT_THROW(s.put_artifacts("d", {{"", {DType::I64, {1}, &x}}}), InvalidArgument);
  EXPECT_THROW(s.put_artifacts("d", {{"y", {DType::I64, {1}, &x}}}, "{not json"), InvalidArgument);
  EXPECT_THROW(s.put_artifacts("", {{"y", {DType::I64, {1}, &x}}}), InvalidArgument);
  EXPECT_THROW(s.put_artifacts("d", {{"y", {DType::I64, {-1}, &x}}}), InvalidArgument);
  EXPECT_THROW(s.remove_artifacts(""), InvalidArgument);
  EXPECT_EQ(all_blob_keys(s), before);
  ASSERT_EQ(s.list_artifacts("d").size(), 1u);
  EXPECT_EQ(s.list_artifacts("d")[0].name, "x");
}

TEST(Artifacts, CorruptionNamesScopeAndNameAndMarksDamaged) {
  test::TempDir tmp;
  const auto dir = tmp.path() / "st";
  std::vector<float> v(5000, 0.25f);
  std::string key;
  {
    Store s(dir);
    key = s.put_artifacts("dataset/3/2/abc", {{"prompts", {DType::F32, {5000}, v.data()}}})[0].blob_key;
  }
  {
    BlobStore b(dir / "blobs");
    std::string blob = *b.get_copy(key);
    blob[blob.size() - 10] ^= 0x40;
    b.put(key, blob);
  }
  Store s(dir);
  try {
    s.read_artifact("dataset/3/2/abc", "prompts");
    FAIL() << "corruption not detected";
  } catch (const CorruptData& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'prompts' of scope 'dataset/3/2/abc'"), std::string::npos) << msg;
    EXPECT_NE(msg.find(key), std::string::npos) << msg;
  }
  EXPECT_EQ(s.list_artifacts("dataset/3/2/abc")[0].status, RowStatus::Damaged);
  EXPECT_THROW(s.read_artifact("dataset/3/2/abc", "prompts"), CorruptData);
  auto report = s.verify_all();
  ASSERT_EQ(report.damaged.size(), 1u);
  EXPECT_EQ(report.damaged[0].ref.owner_table, "artifacts");
  EXPECT_EQ(s.stats().damaged_rows, 1u);
  // Putting the scope again replaces the damaged row.
  s.put_artifacts("dataset/3/2/abc", {{"prompts", {DType::F32, {5000}, v.data()}}});
  EXPECT_EQ(read_as<float>(s.read_artifact("dataset/3/2/abc", "prompts")), v);
}

TEST(Artifacts, GarbageCollectionAtOpenKeepsArtifactBlobs) {
  test::TempDir tmp;
  const auto dir = tmp.path() / "st";
  std::vector<int32_t> t(10000, 7);
  {
    Store s(dir);
    s.put_artifacts("job/1/checkpoint", {{"a", {DType::I32, {10000}, t.data()}}, {"b", {DType::I32, {5}, t.data()}}});
    s.put_artifacts("dataset/1/1/p", {{"tokens", {DType::I32, {10000}, t.data()}}});
  }
  { BlobStore(dir / "blobs").put("art/00000000000000000000000000000000", "written before a crash"); }
  Store s(dir);
  EXPECT_EQ(s.open_report().orphan_blobs_removed, 1u);  // only the orphan
  EXPECT_TRUE(s.open_report().missing.empty());
  EXPECT_EQ(all_blob_keys(s).size(), 3u);
  EXPECT_EQ(all_blob_keys(s), referenced_keys(s));
  EXPECT_EQ(read_as<int32_t>(s.read_artifact("job/1/checkpoint", "a")), t);
  EXPECT_EQ(read_as<int32_t>(s.read_artifact("dataset/1/1/p", "tokens")), t);
}

// A store made by a build that knew only migration 001 (documents, no
// artifacts) opens with this build: 002 applies, the data stays, and
// garbage collection still sees every referenced blob.
TEST(Artifacts, MigrationFrom001KeepsData) {
  test::TempDir tmp;
  const auto dir = tmp.path() / "st";
  std::filesystem::create_directories(dir);
  const std::string text = "a document stored before artifacts existed";
  const std::string key = "doc/1/" + xxh3_128_hex(text);
  {
    Catalog v1(dir / "catalog.sqlite", builtin_migrations().first(1));
    ASSERT_EQ(v1.schema_version(), 1);
    auto c = v1.create_corpus("old");
    DocumentRow d;
    d.corpus_id = c.id;
    d.name = "doc";
    d.content_hash = xxh3_128_hex(text);
    d.bytes = static_cast<int64_t>(text.size());
    d.blob_key = key;
    v1.insert_document(d);
    v1.bump_corpus_version(c.id);
    Statement ds(v1.db(), "SELECT count(*) FROM sqlite_master WHERE name = 'datasets'");
    ds.step();
    EXPECT_EQ(ds.int64(0), 1);
  }
  { BlobStore(dir / "blobs").put(key, encode_tensor({DType::U8, {static_cast<int64_t>(text.size())}, text.data()})); }
  Store s(dir);
  EXPECT_EQ(s.catalog().schema_version(), builtin_migrations().back().version);
  auto applied = s.catalog().applied_migrations();
  ASSERT_GE(applied.size(), 2u);
  EXPECT_EQ(applied[1], (std::pair<int, std::string>{2, "artifacts"}));
  EXPECT_EQ(s.open_report().orphan_blobs_removed, 0u);
  EXPECT_EQ(s.read_document("old", "doc"), text);
  EXPECT_EQ(s.catalog().latest_version(s.catalog().corpus("old").id)->version, 1);
  Statement ds(s.catalog().db(), "SELECT count(*) FROM sqlite_master WHERE name = 'datasets'");
  ds.step();
  EXPECT_EQ(ds.int64(0), 0);  // dropped: superseded by artifacts
  int64_t x = 5;
  s.put_artifacts("job/1/checkpoint", {{"x", {DType::I64, {1}, &x}}});
  EXPECT_EQ(referenced_keys(s).size(), 2u);
  EXPECT_EQ(all_blob_keys(s), referenced_keys(s));
}

// The two alternating versions of the crash test: odd versions have three
// tensors, even ones two, with different names and shapes, and every
// element derived from the version, so a mix of versions cannot pass.
struct VersionSet {
  std::vector<std::string> names;
  std::vector<std::vector<float>> data;
};
VersionSet version_set(int64_t v) {
  VersionSet s;
  if (v % 2) {
    s.names = {"lora.a", "lora.b", "adam.m"};
    s.data = {std::vector<float>(30000), std::vector<float>(12000), std::vector<float>(18000)};
  } else {
    s.names = {"lora.a", "adam.v"};
    s.data = {std::vector<float>(24000), std::vector<float>(40000)};
  }
  for (size_t t = 0; t < s.data.size(); ++t)
    for (size_t i = 0; i < s.data[t].size(); ++i)
      s.data[t][i] = static_cast<float>(v) * 1000.f + static_cast<float>(t) + static_cast<float>(i % 97) / 128.f;
  return s;
}

void put_version(Store& s, const std::string& scope, int64_t v) {
  const VersionSet set = version_set(v);
  std::vector<NamedTensor> tensors;
  for (size_t t = 0; t < set.names.size(); ++t)
    tensors.push_back({set.names[t], {DType::F32, {static_cast<int64_t>(set.data[t].size())}, set.data[t].data()}});
  s.put_artifacts(scope, tensors, nlohmann::json{{"version", v}}.dump());
}

// Reads the scope and checks it is exactly one complete version; returns
// it (0 for an empty scope).
int64_t check_scope(Store& s, const std::string& scope) {
  const auto rows = s.list_artifacts(scope);
  if (rows.empty()) return 0;
  const int64_t v = nlohmann::json::parse(rows[0].meta).at("version").get<int64_t>();
  const VersionSet want = version_set(v);
  EXPECT_EQ(rows.size(), want.names.size()) << "version " << v;
  for (size_t t = 0; t < rows.size() && t < want.names.size(); ++t) {
    EXPECT_EQ(rows[t].name, want.names[t]) << "version " << v;
    EXPECT_EQ(nlohmann::json::parse(rows[t].meta).at("version").get<int64_t>(), v) << "rows of two versions";
    EXPECT_EQ(read_as<float>(s.read_artifact(scope, rows[t].name)), want.data[t]) << rows[t].name << " v" << v;
  }
  return v;
}

TEST(Artifacts, ReplaceIsAtomicUnderSigkill) {
  test::TempDir tmp;
  const auto dir = tmp.path() / "st";
  const std::string scope = "job/7/checkpoint";
  { Store s(dir); }
  std::mt19937 rng(4242);
  int64_t current = 0;  // version in the store after the last trial
  const int kTrials = 24;
  int killed_mid_run = 0, reported_total = 0, in_flight_seen = 0, orphans_collected = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    const int64_t first = current + 1;
    auto child = test::KilledChild::fork_running([&](const test::ChildReporter& out) {
      Store s(dir);
      for (int64_t v = first; v < first + 1000; ++v) {
        put_version(s, scope, v);
        out.report(v);
      }
    });
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 400000));
    const auto exit = child.kill_and_reap();
    if (exit.killed) ++killed_mid_run;
    else
      ASSERT_EQ(exit.status, 0) << "child failed on its own in trial " << trial;
    int64_t last_reported = current;
    for (int64_t v : child.drain_reports()) last_reported = v, ++reported_total;

    Store s(dir);
    EXPECT_TRUE(s.open_report().missing.empty()) << "trial " << trial;
    orphans_collected += s.open_report().orphan_blobs_removed > 0;
    EXPECT_EQ(all_blob_keys(s), referenced_keys(s)) << "orphan or missing blob after trial " << trial;
    const int64_t v = check_scope(s, scope);
    // At least as new as the last reported put; newer only by the one put
    // that was in flight when the child died.
    EXPECT_GE(v, last_reported) << "trial " << trial;
    EXPECT_LE(v, last_reported + 1) << "trial " << trial;
    in_flight_seen += v == last_reported + 1;
    current = v;
  }
  EXPECT_GE(killed_mid_run, kTrials / 2);
  EXPECT_GT(reported_total, kTrials);
  std::printf("[ trials ] %d killed mid-run, %d puts reported, %d kills after a swap committed but before it "
              "was reported, %d reopens collected orphan blobs\n",
              killed_mid_run, reported_total, in_flight_seen, orphans_collected);
}

}  // namespace
}  // namespace cdb
