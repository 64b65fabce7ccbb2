// ArtifactStore: where a training run keeps what it must find again after a
// crash or a rerun (its synthesized dataset, its checkpoints): groups of
// named tensors plus a JSON meta, each group (a "scope") replaced whole.
//
// Two homes, one interface, so training code does not care which:
//  - StoreArtifacts: a Store's catalogued artifacts (Store::put_artifacts).
//    Survives reopening: the open-time garbage collection keeps them because
//    catalog rows reference them. What `cartridge eval --store` uses.
//  - BlobArtifacts: plain keys in a bare BlobStore that no catalog collects
//    (the planner's per-database scratch, whose lifetime is the job's).
//    Raw blobs must never go into a Store's own BlobStore: its next open
//    deletes them as orphans.
//  - S3Artifacts (s3/s3_artifacts.h): objects under a bucket's scratch/
//    prefix, for what every node sharing the bucket must read (a training
//    job's scratch, which another node resumes).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "storage/store.h"

namespace cdb {

class BlobStore;

// A scope as read back: its meta and every tensor, decoded and verified.
struct ArtifactSet {
  std::string meta_json = "{}";
  std::map<std::string, DecodedTensor, std::less<>> tensors;

  // The named tensor; CorruptData naming `what` and the name when absent
  // (a set that was written whole lacks nothing, so absence is damage).
  const DecodedTensor& at(std::string_view name, std::string_view what) const;
};

// The rules every ArtifactStore::put applies (below), for the homes defined
// elsewhere (S3Artifacts): InvalidArgument naming what is wrong.
void check_artifact_set(const std::string& scope, const std::vector<NamedTensor>& tensors,
                        const std::string& meta_json);

class ArtifactStore {
 public:
  virtual ~ArtifactStore() = default;
  // Replaces every tensor of `scope` at once: a crash leaves the old set or
  // the new one, whole. Names are 1..200 bytes, unique, without '/' and not
  // starting with '@'; meta_json must be valid JSON. InvalidArgument
  // otherwise, before anything is written.
  virtual void put(const std::string& scope, const std::vector<NamedTensor>& tensors,
                   const std::string& meta_json) = 0;
  // The whole scope, or nullopt when nothing is stored under it. Checksums
  // are verified: CorruptData names the scope and the tensor.
  virtual std::optional<ArtifactSet> get(const std::string& scope) const = 0;
  virtual bool contains(const std::string& scope) const = 0;
  // Removes the scope `scope_prefix` and every scope below it ("job/17"
  // covers "job/17/checkpoint", not "job/170"); absent is no error.
  virtual void remove(const std::string& scope_prefix) = 0;
};

class StoreArtifacts final : public ArtifactStore {
 public:
  explicit StoreArtifacts(Store& store) : store_(store) {}
  void put(const std::string& scope, const std::vector<NamedTensor>& tensors, const std::string& meta_json) override;
  std::optional<ArtifactSet> get(const std::string& scope) const override;
  bool contains(const std::string& scope) const override;
  void remove(const std::string& scope_prefix) override;

 private:
  Store& store_;
};

// Keys "<scope>/<name>" hold encoded tensors and "<scope>/@meta" the meta,
// written last in the same LMDB transaction (its presence marks a complete
// set). Reads run in one snapshot.
class BlobArtifacts final : public ArtifactStore {
 public:
  explicit BlobArtifacts(BlobStore& blobs, CodecOptions codec = CodecOptions{.threads = 1})
      : blobs_(blobs), codec_(codec) {}
  void put(const std::string& scope, const std::vector<NamedTensor>& tensors, const std::string& meta_json) override;
  std::optional<ArtifactSet> get(const std::string& scope) const override;
  bool contains(const std::string& scope) const override;
  void remove(const std::string& scope_prefix) override;

 private:
  BlobStore& blobs_;
  CodecOptions codec_;
};

}  // namespace cdb
