#include "cli/blob_flags.h"

#include <string>

#include "common/error.h"

namespace cdb::cli {

void add_blob_flags(cxxopts::Options& opts) {
  const S3BlobsOptions d;
  opts.add_options("blobs on S3")
      ("blobs", "s3://BUCKET/PREFIX: blobs on S3-compatible object storage, the data directory's LMDB their "
                "read-through cache (credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY; docs/scale-out.md)",
       cxxopts::value<std::string>()->default_value(""))
      ("s3-endpoint", "S3 endpoint URL, e.g. http://minio:9000 (default: AWS's for --s3-region)",
       cxxopts::value<std::string>()->default_value(""))
      ("s3-region", "S3 region", cxxopts::value<std::string>()->default_value(d.s3.region))
      ("s3-addressing", "path (ENDPOINT/BUCKET/KEY, every S3-compatible server) or virtual (BUCKET.ENDPOINT-HOST/KEY)",
       cxxopts::value<std::string>()->default_value("path"))
      ("cache-bytes", "with --blobs s3://: bytes of blobs the local cache keeps (least recently used evicted)",
       cxxopts::value<size_t>()->default_value(std::to_string(d.cache_bytes)))
      ("s3-connect-timeout", "seconds to connect to S3",
       cxxopts::value<double>()->default_value(std::to_string(d.s3.connect_timeout_ms / 1000.0)))
      ("s3-request-timeout", "seconds one S3 request may take (objects move in parts and ranges of 8-16 MiB)",
       cxxopts::value<double>()->default_value(std::to_string(d.s3.request_timeout_ms / 1000.0)))
      ("s3-retries", "retries of an S3 request after a 5xx, 429, timeout or connection error (jittered backoff)",
       cxxopts::value<int>()->default_value(std::to_string(d.s3.retries)));
}

S3BlobsOptions blob_flags(const cxxopts::ParseResult& args) {
  S3BlobsOptions o;
  o.url = args["blobs"].as<std::string>();
  o.s3.endpoint = args["s3-endpoint"].as<std::string>();
  o.s3.region = args["s3-region"].as<std::string>();
  const std::string addressing = args["s3-addressing"].as<std::string>();
  if (addressing != "path" && addressing != "virtual")
    throw InvalidArgument("--s3-addressing must be path or virtual, not '" + addressing + "'");
  o.s3.virtual_host = addressing == "virtual";
  o.cache_bytes = args["cache-bytes"].as<size_t>();
  o.s3.connect_timeout_ms = static_cast<long>(args["s3-connect-timeout"].as<double>() * 1000);
  o.s3.request_timeout_ms = static_cast<long>(args["s3-request-timeout"].as<double>() * 1000);
  o.s3.retries = args["s3-retries"].as<int>();
  return o;
}

}  // namespace cdb::cli
