// `cartridge serve --blobs s3://...`: a real server keeping its blobs in a
// real S3 endpoint (s3rver on loopback).
#include <gtest/gtest.h>

#include <cstdlib>

#include "server/server_process.h"
#include "storage/s3/s3_client.h"
#include "support/s3rver_process.h"

namespace cdb::test {
namespace {

std::vector<std::string> s3_serve_args(const std::string& endpoint) {
  // The server reads its credentials from the environment, as AWS tools do.
  ::setenv("AWS_ACCESS_KEY_ID", S3rverProcess::kAccessKey, 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", S3rverProcess::kSecretKey, 1);
  return {"--auth", "trust", "--blobs", "s3://cdb-test/srv", "--s3-endpoint", endpoint, "--s3-connect-timeout", "0.5",
          "--s3-retries", "1"};
}

TEST(ServeBlobsOnS3, KeepsDocumentsInTheBucketAndAnswersFromThem) {
  S3rverProcess s3;
  ServerProcess server(s3_serve_args(s3.endpoint()));
  auto r = server.psql(kSetupPets);
  ASSERT_EQ(r.status, 0) << r.output << server.log();
  S3Client bucket(S3rverProcess::client_options(s3.endpoint()));
  EXPECT_EQ(bucket.list("srv/blobs/doc/").size(), 2u);
  EXPECT_TRUE(bucket.head("srv/cdb.identity"));
  r = server.psql("ASK 'Mia' USING pets WITH (max_tokens = 4)");
  ASSERT_EQ(r.status, 0) << r.output << server.log();
  EXPECT_NE(r.output.find("(1 row)"), std::string::npos) << r.output;
}

TEST(ServeBlobsOnS3, AnUnreachableBucketStopsTheServerAtStartWithAClearError) {
  try {
    ServerProcess server(s3_serve_args("http://127.0.0.1:9"));
    FAIL() << "the server started";
  } catch (const std::runtime_error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("exited at start"), std::string::npos) << m;
    EXPECT_NE(m.find("http://127.0.0.1:9"), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace cdb::test
