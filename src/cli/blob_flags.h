// The flags that put a store's blobs on S3-compatible object storage
// (docs/scale-out.md), one definition for every command that opens a store:
// --blobs s3://BUCKET/PREFIX, --s3-endpoint, --s3-region, --cache-bytes,
// --s3-connect-timeout, --s3-request-timeout, --s3-retries. Their defaults
// are S3Options' and S3BlobsOptions' own.
#pragma once

#include <cxxopts.hpp>

#include "storage/s3/s3_options.h"

namespace cdb::cli {

void add_blob_flags(cxxopts::Options& opts);
// The options the flags give; disabled (empty url) without --blobs.
// Credentials are not read here (S3Credentials::from_env when opening).
S3BlobsOptions blob_flags(const cxxopts::ParseResult& args);

}  // namespace cdb::cli
