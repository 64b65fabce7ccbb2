// `cartridge serve --blobs s3://...`: a real server keeping its blobs in a
// real S3 endpoint (s3rver on loopback).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <thread>

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

TEST(ServeBlobsOnS3, StoreCommandsTakeTheSameFlagsAndTheCacheAloneIsRefused) {
  S3rverProcess s3;
  TempDir tmp("store-cli-s3");
  const std::string dir = (tmp.path() / "st").string();
  const std::string cli = std::string(CDB_BIN_DIR) + "/cartridge store ";
  const std::string flags = " --blobs s3://cdb-test/cli --s3-endpoint " + s3.endpoint();
  const std::string env = std::string("AWS_ACCESS_KEY_ID=") + S3rverProcess::kAccessKey +
                          " AWS_SECRET_ACCESS_KEY=" + S3rverProcess::kSecretKey + " ";
  auto r = run_command(env + cli + "create " + shell_quote(dir) + flags);
  ASSERT_EQ(r.status, 0) << r.output;
  r = run_command(env + cli + "put " + shell_quote(dir) + flags + " --corpus c --name n --text 'in the bucket'");
  ASSERT_EQ(r.status, 0) << r.output;
  r = run_command(env + cli + "verify " + shell_quote(dir) + flags);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("checked 1 blobs"), std::string::npos) << r.output;
  S3Client bucket(S3rverProcess::client_options(s3.endpoint()));
  EXPECT_EQ(bucket.list("cli/blobs/doc/").size(), 1u);
  // gc with an age threshold: an orphan within --grace stays, then goes.
  bucket.put("cli/blobs/art/orphan", "left by a crashed write");
  r = run_command(env + cli + "gc " + shell_quote(dir) + flags);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("listed 2 blob(s); moved 0 unreferenced blob(s) older than 3600 s to the quarantine (0 B); "
                          "kept 1 younger"),
            std::string::npos)
      << r.output;
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // LastModified has a one-second grain
  r = run_command(env + cli + "gc " + shell_quote(dir) + flags + " --grace 0");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("moved 1 unreferenced blob(s) older than 0 s to the quarantine (23 B)"), std::string::npos)
      << r.output;
  EXPECT_EQ(bucket.list("cli/quarantine/").size(), 1u);
  r = run_command(env + cli + "verify " + shell_quote(dir) + flags);
  EXPECT_EQ(r.status, 0) << r.output;
  r = run_command(cli + "list " + shell_quote(dir));  // without --blobs: only the cache is there
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("keeps its blobs in s3://cdb-test/cli"), std::string::npos) << r.output;
  r = run_command("env -u AWS_ACCESS_KEY_ID " + cli + "list " + shell_quote(dir) + flags);
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("AWS_ACCESS_KEY_ID is not set"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace cdb::test
