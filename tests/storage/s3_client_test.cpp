// The S3 client against a real S3 endpoint (s3rver on loopback), and
// through a fault-injecting proxy for what s3rver cannot do: 500s, 503
// SlowDown, stalls and resets. Timeouts here are short so that the retry
// tests take well under a second each.
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <cstring>
#include <string>

#include "common/error.h"
#include "storage/s3/s3_client.h"
#include "support/fault_proxy.h"
#include "support/s3rver_process.h"

namespace cdb {
namespace {

using test::FaultProxy;
using test::S3rverProcess;
using Fault = FaultProxy::Fault;

std::string random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i + 8 <= n; i += 8) {
    const uint64_t v = rng();
    std::memcpy(s.data() + i, &v, 8);
  }
  for (size_t i = n & ~size_t{7}; i < n; ++i) s[i] = static_cast<char>(rng());
  return s;
}

class S3Client : public ::testing::Test {
 protected:
  S3rverProcess server;
  cdb::S3Client client{S3rverProcess::client_options(server.endpoint(), server.bucket())};
};

TEST_F(S3Client, PutThenGetReturnsTheSameBytes) {
  const std::string bytes = random_bytes(100000, 1);
  client.put("blobs/a", bytes);
  EXPECT_EQ(client.get("blobs/a"), bytes);
  const auto info = client.head("blobs/a");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->size, bytes.size());
}

// Virtual-host addressing: the bucket is in the host name (here
// cdb-test.s3.localhost, which s3rver maps to its bucket), and what goes up
// that way is the same object a path-style client reads.
TEST_F(S3Client, VirtualHostAddressingReachesTheSameObjectsAsPathStyle) {
  S3Options o = S3rverProcess::client_options(server.endpoint(), server.bucket());
  o.endpoint = "http://s3.localhost:" + server.endpoint().substr(server.endpoint().rfind(':') + 1);
  o.virtual_host = true;
  cdb::S3Client vhost(o);
  const std::string body = "virtually hosted";
  vhost.put("vhost/a key", body);
  EXPECT_EQ(client.get("vhost/a key"), body);
  EXPECT_EQ(vhost.get("vhost/a key"), body);
  ASSERT_EQ(vhost.list("vhost/").size(), 1u);
  vhost.remove("vhost/a key");
  EXPECT_TRUE(client.list("vhost/").empty());
}

TEST_F(S3Client, KeysWithSpacesPlusAndUnicodeRoundTrip) {
  const std::string key = "doc/1/a b+c=d&e%f/\xc3\xa9t\xc3\xa9~.bin";
  client.put(key, "hello");
  EXPECT_EQ(client.get(key), "hello");
  const auto listed = client.list("doc/1/");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].key, key);
}

TEST_F(S3Client, EmptyObjectsRoundTrip) {
  client.put("empty", "");
  EXPECT_EQ(client.get("empty"), "");
}

TEST_F(S3Client, BlobsAboveThePartThresholdGoUpAsMultipartAndComeBackWhole) {
  S3Options o = S3rverProcess::client_options(server.endpoint(), server.bucket());
  o.multipart_threshold = size_t{6} << 20;
  o.part_bytes = size_t{5} << 20;  // S3's minimum part
  cdb::S3Client multipart(o);
  const std::string bytes = random_bytes((size_t{12} << 20) + 12345, 2);
  multipart.put("big", bytes);
  // create + 3 parts + complete
  EXPECT_EQ(multipart.requests(), 5u);
  EXPECT_EQ(multipart.get("big"), bytes);
}

TEST_F(S3Client, RangedParallelGetEqualsTheBytes) {
  S3Options o = S3rverProcess::client_options(server.endpoint(), server.bucket());
  o.range_bytes = size_t{1} << 20;
  o.connections = 4;
  cdb::S3Client ranged(o);
  const std::string bytes = random_bytes((size_t{7} << 20) + 333, 3);
  ranged.put("ranged", bytes);
  std::string out(bytes.size(), '\0');
  const uint64_t before = ranged.requests();
  ranged.get_parallel_into("ranged", out.data(), out.size());
  EXPECT_EQ(ranged.requests() - before, 8u);  // 8 ranges of 1 MiB
  EXPECT_TRUE(out == bytes);
  EXPECT_TRUE(ranged.get("ranged") == bytes);
  std::string part(1000, '\0');
  ranged.get_range_into("ranged", 5000000, part.data(), part.size());
  EXPECT_EQ(part, bytes.substr(5000000, 1000));
}

TEST_F(S3Client, AnObjectShorterThanTheSizeAskedForIsAnError) {
  client.put("short", "12345");
  std::string out(10, '\0');
  try {
    client.get_parallel_into("short", out.data(), out.size());
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("s3://cdb-test/short"), std::string::npos) << e.what();
  }
}

TEST_F(S3Client, ListPagesThroughMoreKeysThanAPage) {
  client.list_page_keys = 7;
  for (int i = 0; i < 23; ++i) client.put("list/k" + std::to_string(100 + i), std::to_string(i));
  client.put("other/x", "x");
  const uint64_t before = client.requests();
  const auto listed = client.list("list/");
  EXPECT_EQ(client.requests() - before, 4u);  // pages of 7, 7, 7, 2
  ASSERT_EQ(listed.size(), 23u);
  for (int i = 0; i < 23; ++i) EXPECT_EQ(listed[i].key, "list/k" + std::to_string(100 + i));
  EXPECT_EQ(listed[22].size, 2u);
}

TEST_F(S3Client, DeleteRemovesTheObjectAndDeletingAgainIsNoError) {
  client.put("gone", "bytes");
  client.remove("gone");
  EXPECT_FALSE(client.head("gone"));
  EXPECT_THROW(client.get("gone"), NotFound);
  client.remove("gone");
}

TEST_F(S3Client, AMissingKeyIsNotFoundNamingIt) {
  try {
    client.get("no/such/key");
    FAIL() << "no error";
  } catch (const NotFound& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("s3://cdb-test/no/such/key"), std::string::npos) << m;
    EXPECT_NE(m.find("404"), std::string::npos) << m;
    EXPECT_NE(m.find("NoSuchKey"), std::string::npos) << m;
  }
}

TEST_F(S3Client, AMissingBucketIsNotFoundNamingIt) {
  S3Options o = S3rverProcess::client_options(server.endpoint(), "no-such-bucket");
  cdb::S3Client other(o);
  try {
    other.put("k", "v");
    FAIL() << "no error";
  } catch (const NotFound& e) {
    EXPECT_NE(std::string(e.what()).find("bucket 'no-such-bucket' does not exist"), std::string::npos) << e.what();
  }
}

// s3rver checks the access key but not SigV4 signatures (its v4 check is
// unimplemented), so a wrong key is the bad credential it can show.
TEST_F(S3Client, BadCredentialsAreAClearErrorThatNeverShowsTheSecret) {
  S3Options o = S3rverProcess::client_options(server.endpoint(), server.bucket());
  o.credentials = {"NOT-A-KEY", "not-the-secret-sauce", ""};
  cdb::S3Client wrong(o);
  const uint64_t before = wrong.requests();
  try {
    wrong.put("k", "v");
    FAIL() << "no error";
  } catch (const PermissionDenied& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("403"), std::string::npos) << m;
    EXPECT_NE(m.find("InvalidAccessKeyId"), std::string::npos) << m;
    EXPECT_NE(m.find("AWS_SECRET_ACCESS_KEY"), std::string::npos) << m;
    EXPECT_EQ(m.find("not-the-secret-sauce"), std::string::npos) << m;
  }
  EXPECT_EQ(wrong.requests() - before, 1u) << "a 403 is final, never retried";
}

TEST_F(S3Client, MalformedKeysAreRefusedBeforeAnyRequest) {
  EXPECT_THROW(client.put("", "v"), InvalidArgument);
  EXPECT_THROW(client.put("a//b", "v"), InvalidArgument);
  EXPECT_THROW(client.put("a/../b", "v"), InvalidArgument);
  EXPECT_THROW(client.put(std::string("a\nb"), "v"), InvalidArgument);
  EXPECT_EQ(client.requests(), 0u);
}

class S3Faults : public ::testing::Test {
 protected:
  S3Options options() {
    S3Options o = S3rverProcess::client_options(proxy.endpoint(), server.bucket());
    o.request_timeout_ms = 400;
    return o;
  }
  S3rverProcess server;
  FaultProxy proxy{server.port()};
};

TEST_F(S3Faults, RetriesOn500sAndSlowDownThenSucceeds) {
  // No stall here: a loaded machine must not turn a slow answer into a
  // fifth try and make the count below wrong.
  S3Options o = options();
  o.request_timeout_ms = 5000;
  cdb::S3Client client(o);
  proxy.schedule({Fault::kHttp500, Fault::kSlowDown, Fault::kHttp500});
  client.put("k", "value");
  EXPECT_EQ(proxy.faults(), 3);
  EXPECT_EQ(client.requests(), 4u);
  proxy.schedule({Fault::kHttp500});
  EXPECT_EQ(client.get("k"), "value");
}

TEST_F(S3Faults, RetriesAfterAStalledRequestTimesOutThenSucceeds) {
  cdb::S3Client client(options());
  client.put("k", "value");
  proxy.schedule({Fault::kStall, Fault::kStall});
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(client.get("k"), "value");
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(s, 0.7);  // two request timeouts
  EXPECT_LT(s, 5.0);
}

TEST_F(S3Faults, RetriesAfterAResetConnectionThenSucceeds) {
  cdb::S3Client client(options());
  proxy.schedule({Fault::kReset, Fault::kReset});
  client.put("k", "value");
  proxy.schedule({Fault::kReset});
  EXPECT_EQ(client.get("k"), "value");
  EXPECT_EQ(proxy.faults(), 3);
}

TEST_F(S3Faults, RangedParallelGetRidesOutFaultsOnSomeRanges) {
  S3Options o = options();
  o.range_bytes = size_t{256} << 10;
  o.connections = 4;
  cdb::S3Client client(o);
  const std::string bytes = random_bytes(size_t{3} << 20, 4);
  client.put("big", bytes);
  proxy.schedule({Fault::kHttp500, Fault::kReset, Fault::kPass, Fault::kSlowDown, Fault::kStall});
  std::string out(bytes.size(), '\0');
  client.get_parallel_into("big", out.data(), out.size());
  EXPECT_TRUE(out == bytes);
}

TEST_F(S3Faults, APersistentlyFailingEndpointFailsClearlyAfterTheRetries) {
  cdb::S3Client client(options());
  proxy.always(Fault::kHttp500);
  const auto t0 = std::chrono::steady_clock::now();
  try {
    client.put("k", "value");
    FAIL() << "no error";
  } catch (const IoError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("s3://cdb-test/k"), std::string::npos) << m;
    EXPECT_NE(m.find("failed after 4 tries"), std::string::npos) << m;
    EXPECT_NE(m.find("HTTP 500 InternalError"), std::string::npos) << m;
  }
  EXPECT_EQ(proxy.requests(), 4);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 2.0);
}

TEST_F(S3Faults, AnEndpointThatNeverAnswersFailsWithinItsTimeouts) {
  cdb::S3Client client(options());
  proxy.always(Fault::kStall);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(client.get("k"), IoError);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // 4 tries of 400 ms, plus backoffs of at most 50 ms.
  EXPECT_GE(s, 1.6);
  EXPECT_LT(s, 3.0);
}

TEST_F(S3Faults, NotFoundIsFinalAndNeverRetried) {
  cdb::S3Client client(options());
  EXPECT_THROW(client.get("absent"), NotFound);
  EXPECT_EQ(proxy.requests(), 1);
}

TEST(S3Unreachable, AnUnreachableEndpointFailsClearlyInBoundedTime) {
  // A port nothing listens on: a proxy with no upstream shows where a
  // closed port is, and is gone before the client runs.
  int port;
  {
    FaultProxy gone(0);
    port = gone.port();
  }
  S3Options o = S3rverProcess::client_options("http://127.0.0.1:" + std::to_string(port), "cdb-test");
  cdb::S3Client client(o);
  const auto t0 = std::chrono::steady_clock::now();
  try {
    client.get("k");
    FAIL() << "no error";
  } catch (const IoError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << m;
    EXPECT_NE(m.find("failed after 4 tries"), std::string::npos) << m;
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 2.0);
}

}  // namespace
}  // namespace cdb
