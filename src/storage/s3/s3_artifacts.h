// S3Artifacts: an ArtifactStore (artifact_store.h) in a bucket, for what
// every node sharing that bucket must read: a training job's scratch (its
// synthesized dataset and its checkpoints), which another node resumes
// from when the job's node dies.
//
// Layout: each put of a scope is ONE new object,
// "<prefix>/scratch/<scope>/@set-<unix ms, 13 digits>-<8 hex>", written by
// one PUT; only once it is in place are the scope's older objects deleted.
// A get reads the newest object that parses whole and falls back to the one
// before, so a crash mid-put leaves the old set or the new one, as
// ArtifactStore promises, even where a PUT is not atomic: AWS S3 and MinIO
// show an object whole or not at all, but s3rver (the tests' endpoint)
// writes into the object's file as the body arrives, and a writer killed
// mid-PUT leaves a torn object there. An object is "CDBSCR1\n", the
// header's length (8 bytes, little-endian), a JSON header {"meta": ...,
// "tensors": [{"name", "bytes"}...]} and the tensors encoded by the tensor
// codec, back to back; lengths are checked and each tensor's checksums are
// verified when it is decoded, which is how a torn one is told apart.
// (The single "@set" object of earlier builds is read as the oldest.)
//
// scratch/ lies beside the store's blobs/, records/ and quarantine/
// (s3_blob_store.h), never inside them, so that nothing that checks,
// lists, recovers or quarantines the store's blobs ever sees it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "storage/artifact_store.h"
#include "storage/s3/s3_client.h"
#include "storage/s3/s3_url.h"

namespace cdb {

class S3Artifacts final : public ArtifactStore {
 public:
  // `location`: the store's s3://bucket/prefix; options: as the store's.
  S3Artifacts(const S3Location& location, S3Options options, CodecOptions codec = CodecOptions{.threads = 1});

  void put(const std::string& scope, const std::vector<NamedTensor>& tensors, const std::string& meta_json) override;
  std::optional<ArtifactSet> get(const std::string& scope) const override;
  bool contains(const std::string& scope) const override;
  void remove(const std::string& scope_prefix) override;

  // "<prefix>/scratch/", the key prefix of every object.
  const std::string& base() const { return base_; }

 private:
  // "<base><scope>/@set": what every object of the scope's key starts with.
  std::string set_prefix(const std::string& scope) const;
  // The scope's objects (not those of scopes below it), oldest first.
  std::vector<std::string> set_keys(const std::string& scope) const;
  ArtifactSet parse(const std::string& key, const std::string& body) const;

  std::string base_;
  mutable S3Client client_;
  CodecOptions codec_;
};

}  // namespace cdb
