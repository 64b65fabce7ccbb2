// The hostile-input side of the S3 code: locations and keys from flags, and
// the XML of S3's answers, which must never crash on garbage.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "common/error.h"
#include "storage/s3/s3_url.h"
#include "storage/s3/s3_xml.h"

namespace cdb {
namespace {

TEST(S3Location, ParsesBucketAndPrefix) {
  auto loc = parse_s3_url("s3://my-bucket/a/b/");
  EXPECT_EQ(loc.bucket, "my-bucket");
  EXPECT_EQ(loc.prefix, "a/b");
  EXPECT_EQ(loc.key("cdb.identity"), "a/b/cdb.identity");
  EXPECT_EQ(loc.url(), "s3://my-bucket/a/b");
  auto bare = parse_s3_url("s3://bucket");
  EXPECT_EQ(bare.prefix, "");
  EXPECT_EQ(bare.key("x"), "x");
}

TEST(S3Location, RefusesBadBucketsAndPrefixesNamingTheRule) {
  EXPECT_THROW(parse_s3_url("http://bucket/x"), InvalidArgument);
  EXPECT_THROW(parse_s3_url("s3://"), InvalidArgument);
  EXPECT_THROW(parse_s3_url("s3://Upper/x"), InvalidArgument);
  EXPECT_THROW(parse_s3_url("s3://-bucket/x"), InvalidArgument);
  EXPECT_THROW(parse_s3_url("s3://bucket/a//b"), InvalidArgument);
  EXPECT_THROW(parse_s3_url("s3://bucket/a/../b"), InvalidArgument);
  try {
    parse_s3_url("s3://ab/x");
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("3 to 63"), std::string::npos) << e.what();
  }
}

TEST(S3Xml, ReadsAListingPage) {
  const std::string xml =
      "<?xml version=\"1.0\"?><ListBucketResult><KeyCount>2</KeyCount><IsTruncated>true</IsTruncated>"
      "<Contents><Key>a&amp;b</Key><Size>3</Size></Contents><Contents><Key>c&#x20;d&#233;</Key><Size>4</Size>"
      "</Contents><NextContinuationToken>t+/=</NextContinuationToken></ListBucketResult>";
  const auto items = xml_elements(xml, "Contents");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(xml_text(items[0], "Key"), "a&b");
  EXPECT_EQ(xml_text(items[1], "Key"), "c d\xc3\xa9");
  EXPECT_EQ(xml_text(xml, "Key"), "a&b");  // not <KeyCount>
  EXPECT_EQ(xml_text(xml, "NextContinuationToken"), "t+/=");
  EXPECT_EQ(xml_text(xml, "Missing"), std::nullopt);
}

TEST(S3Xml, KeepsMalformedReferencesAndNeverCrashesOnGarbage) {
  EXPECT_EQ(xml_unescape("&bogus; &#xZZ; &#0; &#xD800; &"), "&bogus; &#xZZ; &#0; &#xD800; &");
  EXPECT_EQ(xml_unescape(xml_escape("<a href=\"x\">&'")), "<a href=\"x\">&'");
  std::mt19937 rng(7);
  const std::string alphabet = "<>/&;#xKeyContents Size0123456789\"'";
  for (int i = 0; i < 20000; ++i) {
    std::string s(rng() % 64, ' ');
    for (char& c : s) c = alphabet[rng() % alphabet.size()];
    for (auto e : xml_elements(s, "Key")) (void)xml_unescape(e);
    (void)xml_text(s, "Contents");
  }
  EXPECT_TRUE(xml_elements("<Key", "Key").empty());
  EXPECT_TRUE(xml_elements("<Key>open", "Key").empty());
  EXPECT_EQ(xml_elements("<Key/>", "Key").size(), 1u);
}

}  // namespace
}  // namespace cdb
