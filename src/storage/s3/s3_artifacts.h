// S3Artifacts: an ArtifactStore (artifact_store.h) in a bucket, for what
// every node sharing that bucket must read: a training job's scratch (its
// synthesized dataset and its checkpoints), which another node resumes
// from when the job's node dies.
//
// Layout: a scope is ONE object, "<prefix>/scratch/<scope>/@set", so that
// replacing it is one PUT, which S3 makes visible whole or not at all (a
// crash leaves the old set or the new one, as ArtifactStore promises). The
// object is "CDBSCR1\n", the header's length (8 bytes, little-endian), a
// JSON header {"meta": ..., "tensors": [{"name", "bytes"}...]} and the
// tensors encoded by the tensor codec, back to back; each tensor's
// checksums are verified when it is decoded.
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
  std::string object_key(const std::string& scope) const;

  std::string base_;
  mutable S3Client client_;
  CodecOptions codec_;
};

}  // namespace cdb
