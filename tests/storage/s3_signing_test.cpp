// The S3 client's requests carry signatures S3 accepts. s3rver checks only
// the access key, not SigV4 signatures, so botocore, the AWS SDK's signer,
// recomputes each one instead (tests/support/sigv4_check.py).
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "storage/s3/s3_client.h"
#include "support/shell_quote.h"
#include "support/temp_dir.h"

namespace cdb {
namespace {

// The interpreter that has botocore: Debian's (python3-botocore, installed
// by ./cartridgedb.sh) or the first python3 on PATH.
std::string python_with_botocore() {
  FILE* f = ::popen("for p in /usr/bin/python3 python3; do $p -c 'import botocore' 2>/dev/null && { echo $p; break; }; "
                    "done",
                    "r");
  char line[256] = {0};
  const bool got = f && std::fgets(line, sizeof line, f);
  if (f) ::pclose(f);
  std::string p = got ? line : "";
  while (!p.empty() && p.back() == '\n') p.pop_back();
  return p;
}

TEST(S3Signing, EveryRequestKindIsSignedAsBotocoreSignsIt) {
  const std::string python = python_with_botocore();
  ASSERT_FALSE(python.empty()) << "botocore is missing: ./cartridgedb.sh installs python3-botocore";
  test::TempDir tmp("sigv4");
  const std::string script = std::string(CDB_SOURCE_DIR) + "/tests/support/sigv4_check.py";
  const std::string log = (tmp.path() / "requests.jsonl").string();
  FILE* server = ::popen((python + " " + test::shell_quote(script) + " serve " + test::shell_quote(log)).c_str(), "r");
  ASSERT_NE(server, nullptr);
  char line[64] = {0};
  ASSERT_NE(std::fgets(line, sizeof line, server), nullptr);
  S3Options o;
  o.endpoint = "http://127.0.0.1:" + std::to_string(std::atoi(line));
  o.bucket = "bkt";
  o.region = "eu-west-1";
  o.credentials = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "tok+en/="};
  o.retries = 0;
  {
    cdb::S3Client c(o);  // qualified: s3_client_test.cpp names its fixture S3Client (unity batch)
    c.put("a b/c+d=e&f/\xc3\xa9t\xc3\xa9~.bin", "hello");
    c.list("pre fix/+x");
    const std::string id = c.create_multipart("k/mp");
    c.upload_part("k/mp", id, 1, std::string(2 << 20, 'p'));  // large enough for Expect: 100-continue
    c.complete_multipart("k/mp", id, {"\"abc\""});
    c.copy("k/from", "k/to");
    c.remove("k/gone");
    c.head("k/__quit");
  }
  ::pclose(server);
  FILE* check = ::popen((python + " " + test::shell_quote(script) + " verify " + test::shell_quote(log) +
                         " AKIDEXAMPLE wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY tok+en/= eu-west-1 2>&1")
                            .c_str(),
                        "r");
  ASSERT_NE(check, nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, check)) > 0) out.append(buf, n);
  ::pclose(check);
  EXPECT_NE(out.find("ALL MATCH"), std::string::npos) << out;
  EXPECT_EQ(out.find("BAD"), std::string::npos) << out;
}

}  // namespace
}  // namespace cdb
