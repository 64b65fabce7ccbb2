// The safetensors reader and writer: round trips, views without copies,
// dtype conversion, sharded checkpoints, and typed errors for every kind of
// damage (each naming the file and, where there is one, the tensor).
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "engine/safetensors_checkpoint.h"
#include "engine/safetensors_file.h"
#include "engine/safetensors_writer.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;
using namespace cdb;

namespace {

class Safetensors : public ::testing::Test {
 protected:

  // A raw file: header JSON (unpadded unless asked) + data bytes.
  fs::path raw(const std::string& name, const std::string& header, size_t data_bytes, int64_t len_override = -1) {
    fs::path p = dir_ / name;
    std::ofstream out(p, std::ios::binary);
    uint64_t len = len_override >= 0 ? static_cast<uint64_t>(len_override) : header.size();
    out.write(reinterpret_cast<const char*>(&len), 8);
    out << header;
    std::string data(data_bytes, '\0');
    out << data;
    return p;
  }

  template <class E>
  void expect_error(const fs::path& p, const std::vector<std::string>& fragments) {
    try {
      SafetensorsFile f(p);
      FAIL() << "no error for " << p;
    } catch (const E& e) {
      for (const auto& frag : fragments)
        EXPECT_NE(std::string(e.what()).find(frag), std::string::npos) << e.what() << " lacks " << frag;
    } catch (const std::exception& e) {
      FAIL() << "wrong error type: " << e.what();
    }
  }

  cdb::test::TempDir tmp_{"st"};
  fs::path dir_ = tmp_.path();
};

TEST_F(Safetensors, RoundTripAllDtypesWithMetadataAndAlignment) {
  std::vector<std::pair<std::string, at::Tensor>> ts = {
      {"a.f32", at::randn({3, 5})},
      {"b.bf16", at::randn({7}).to(at::kBFloat16)},  // odd byte count before others
      {"c.f16", at::randn({2, 3, 1}).to(at::kHalf)},
      {"d.i64", at::arange(5, at::kLong)},
      {"e.i32", at::arange(3, at::kInt)},
      {"f.u8", at::arange(9, at::kByte)},
      {"g.empty", at::empty({0, 4})},
  };
  fs::path p = dir_ / "x.safetensors";
  save_safetensors(p, ts, {{"format", "pt"}, {"note", "hi"}});
  ASSERT_TRUE(fs::exists(p));
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename(), "x.safetensors") << "temporary left behind: " << e.path();

  // The header length makes the data start 8-byte aligned; padding is spaces.
  std::ifstream in(p, std::ios::binary);
  uint64_t len = 0;
  in.read(reinterpret_cast<char*>(&len), 8);
  EXPECT_EQ((8 + len) % 8, 0u);
  std::string header(len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(len));
  auto j = nlohmann::json::parse(header);
  EXPECT_EQ(j["__metadata__"]["format"], "pt");
  EXPECT_EQ(j["b.bf16"]["dtype"], "BF16");
  EXPECT_EQ(j["d.i64"]["dtype"], "I64");

  SafetensorsFile f(p);
  EXPECT_EQ(f.metadata().at("note"), "hi");
  EXPECT_EQ(f.names().size(), ts.size());
  for (const auto& [name, t] : ts) {
    at::Tensor r = f.tensor(name);
    EXPECT_EQ(r.scalar_type(), t.scalar_type()) << name;
    EXPECT_EQ(r.sizes(), t.sizes()) << name;
    EXPECT_TRUE(at::equal(r, t)) << name;
    if (r.numel() > 0) {
      EXPECT_EQ(reinterpret_cast<uintptr_t>(r.data_ptr()) % r.element_size(), 0u) << name;
    }
  }
}

TEST_F(Safetensors, ViewsPointIntoTheMappingAndOutliveTheFile) {
  at::Tensor src = at::randn({64, 32});
  fs::path p = dir_ / "v.safetensors";
  save_safetensors(p, {{"w", src}});
  at::Tensor view;
  {
    SafetensorsFile f(p);
    view = f.tensor("w");
    const uint8_t* begin = f.mapping()->data();
    const uint8_t* ptr = static_cast<const uint8_t*>(view.data_ptr());
    EXPECT_GE(ptr, begin);
    EXPECT_LT(ptr, begin + f.mapping()->size()) << "a view must not be a copy";
    // Same dtype asked for: the same view; another: a converted copy.
    EXPECT_EQ(f.tensor("w", at::kFloat).data_ptr(), view.data_ptr());
    at::Tensor bf = f.tensor("w", at::kBFloat16);
    EXPECT_EQ(bf.scalar_type(), at::kBFloat16);
    EXPECT_TRUE(at::allclose(bf.to(at::kFloat), src, 1e-2, 1e-2));
  }
  // The file object is gone; the view still holds the mapping.
  EXPECT_TRUE(at::equal(view, src));
}

TEST_F(Safetensors, StreamedWriterAcceptsSlabsInAnyOrderAndChecksCompleteness) {
  fs::path p = dir_ / "s.safetensors";
  at::Tensor big = at::randn({10, 3});
  at::Tensor small = at::randn({4});
  {
    SafetensorsWriter w(p, {{"big", at::kBFloat16, {10, 3}}, {"small", at::kFloat, {4}}});
    w.write("small", small);
    w.append("big", big.slice(0, 0, 4));
    EXPECT_THROW(w.commit(), InvalidArgument);  // 'big' incomplete
    w.append("big", big.slice(0, 4, 10));
    EXPECT_THROW(w.append("big", big.slice(0, 0, 1)), InvalidArgument);  // too many rows
    EXPECT_THROW(w.write("nope", small), InvalidArgument);
    EXPECT_THROW(w.append("big", at::zeros({1, 4})), InvalidArgument);  // wrong row shape
    EXPECT_FALSE(fs::exists(p)) << "visible before commit";
    w.commit();
  }
  SafetensorsFile f(p);
  EXPECT_TRUE(at::equal(f.tensor("big"), big.to(at::kBFloat16)));
  EXPECT_TRUE(at::equal(f.tensor("small"), small));
}

TEST_F(Safetensors, UncommittedWriterLeavesNothing) {
  fs::path p = dir_ / "u.safetensors";
  {
    SafetensorsWriter w(p, {{"t", at::kFloat, {2}}});
    w.write("t", at::ones({2}));
  }
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(Safetensors, MissingFileIsNotFound) {
  expect_error<NotFound>(dir_ / "absent.safetensors", {"absent.safetensors"});
}

TEST_F(Safetensors, TruncatedAndBadHeaderLengths) {
  fs::path p = dir_ / "short.safetensors";
  std::ofstream(p, std::ios::binary) << "abc";
  expect_error<CorruptData>(p, {"short.safetensors", "truncated"});
  expect_error<CorruptData>(raw("huge.safetensors", "{}", 0, int64_t{1} << 40), {"huge.safetensors", "header length"});
  expect_error<CorruptData>(raw("past.safetensors", "{}", 0, 4096), {"past.safetensors", "past the end"});
}

TEST_F(Safetensors, BadJson) {
  expect_error<CorruptData>(raw("j.safetensors", "{\"a\": [1,", 0), {"j.safetensors", "JSON"});
  expect_error<CorruptData>(raw("arr.safetensors", "[1,2]", 0), {"arr.safetensors", "object"});
  expect_error<CorruptData>(raw("m.safetensors", R"({"__metadata__": {"k": 1}})", 0), {"m.safetensors", "__metadata__"});
}

TEST_F(Safetensors, EntryErrorsNameFileAndTensor) {
  expect_error<CorruptData>(
      raw("oob.safetensors", R"({"w.oob": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", 8),
      {"oob.safetensors", "w.oob", "past the data region"});
  expect_error<CorruptData>(
      raw("shape.safetensors", R"({"w.shape": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}})", 16),
      {"shape.safetensors", "w.shape", "span 16"});
  expect_error<CorruptData>(
      raw("rev.safetensors", R"({"w.rev": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}})", 16),
      {"rev.safetensors", "w.rev"});
  expect_error<CorruptData>(
      raw("ovl.safetensors",
          R"({"w.a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
              "w.b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})",
          16),
      {"ovl.safetensors", "overlaps", "w.a", "w.b"});
  expect_error<CorruptData>(
      raw("dt.safetensors", R"({"w.dt": {"dtype": "Q4", "shape": [4], "data_offsets": [0, 16]}})", 16),
      {"dt.safetensors", "w.dt", "Q4"});
  expect_error<Unsupported>(
      raw("f8.safetensors", R"({"w.f8": {"dtype": "F8_E4M3", "shape": [4], "data_offsets": [0, 4]}})", 4),
      {"f8.safetensors", "w.f8", "F8_E4M3"});
  expect_error<CorruptData>(
      raw("neg.safetensors", R"({"w.neg": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", 4),
      {"neg.safetensors", "w.neg"});
  expect_error<CorruptData>(raw("noff.safetensors", R"({"w.noff": {"dtype": "F32", "shape": [1]}})", 4),
                            {"noff.safetensors", "w.noff", "data_offsets"});
}

TEST_F(Safetensors, UnalignedDataIsCopiedNotMisread) {
  // A 7-byte header (no padding) leaves the data region at offset 15.
  std::string header = R"({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})";
  fs::path p = dir_ / "odd.safetensors";
  {
    std::ofstream out(p, std::ios::binary);
    uint64_t len = header.size() + 1;  // one trailing space: an odd data start either way
    if ((8 + len) % 4 == 0) len += 1;
    out.write(reinterpret_cast<const char*>(&len), 8);
    out << header << std::string(len - header.size(), ' ');
    float v[2] = {1.5f, -2.25f};
    out.write(reinterpret_cast<const char*>(v), 8);
  }
  SafetensorsFile f(p);
  at::Tensor t = f.tensor("t");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data_ptr()) % 4, 0u);
  EXPECT_FLOAT_EQ(t[0].item<float>(), 1.5f);
  EXPECT_FLOAT_EQ(t[1].item<float>(), -2.25f);
}

TEST_F(Safetensors, ShardedCheckpointFollowsTheIndex) {
  at::Tensor a = at::randn({3}), b = at::randn({2, 2});
  save_safetensors(dir_ / "model-00001-of-00002.safetensors", {{"a", a}});
  save_safetensors(dir_ / "model-00002-of-00002.safetensors", {{"b", b}});
  std::ofstream(dir_ / "model.safetensors.index.json")
      << R"({"metadata": {"total_size": 28}, "weight_map": {"a": "model-00001-of-00002.safetensors",
                                                          "b": "model-00002-of-00002.safetensors"}})";
  SafetensorsCheckpoint ck(dir_);
  EXPECT_TRUE(at::equal(ck.tensor("a"), a));
  EXPECT_TRUE(at::equal(ck.tensor("b"), b));
  EXPECT_EQ(ck.file_of("b").path().filename(), "model-00002-of-00002.safetensors");
  EXPECT_EQ(ck.names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_THROW(ck.tensor("c"), NotFound);

  // The index names a tensor its shard lacks.
  std::ofstream(dir_ / "model.safetensors.index.json")
      << R"({"weight_map": {"a": "model-00002-of-00002.safetensors"}})";
  try {
    SafetensorsCheckpoint bad(dir_);
    FAIL();
  } catch (const CorruptData& e) {
    EXPECT_NE(std::string(e.what()).find("'a'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("model-00002-of-00002"), std::string::npos) << e.what();
  }
  // ... or a shard that does not exist.
  std::ofstream(dir_ / "model.safetensors.index.json") << R"({"weight_map": {"a": "gone.safetensors"}})";
  EXPECT_THROW(SafetensorsCheckpoint{dir_}, CorruptData);
  std::ofstream(dir_ / "model.safetensors.index.json") << R"({"weight_map": {"a": "../x.safetensors"}})";
  EXPECT_THROW(SafetensorsCheckpoint{dir_}, CorruptData);
}

TEST_F(Safetensors, EmptyDirectoryIsNotFound) { EXPECT_THROW(SafetensorsCheckpoint{dir_}, NotFound); }

}  // namespace
