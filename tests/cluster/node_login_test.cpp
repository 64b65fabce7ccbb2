// NodeLogin: the password nodes log in to each other with, and the startup
// option naming the user a relayed session acts for.
#include <gtest/gtest.h>

#include <string>

#include "cluster/node_login.h"
#include "common/error.h"

namespace cdb {
namespace {

const std::string kSecret(64, 'k');

TEST(NodeLogin, DerivesOnePasswordPerSecretAndRefusesAShortSecret) {
  EXPECT_EQ(node_password(kSecret), node_password(kSecret));
  EXPECT_EQ(node_password(kSecret).size(), 64u);  // hex of HMAC-SHA-256
  EXPECT_NE(node_password(kSecret), node_password(std::string(64, 'j')));
  EXPECT_EQ(node_password(kSecret).find(kSecret), std::string::npos);
  EXPECT_THROW(node_password(std::string(31, 'k')), InvalidArgument);
  EXPECT_THROW(node_password(std::string(4097, 'k')), InvalidArgument);
}

TEST(NodeLogin, TheActAsOptionRoundTripsNamesWithSpacesAndBackslashes) {
  for (const std::string user : {"alice", "two words", "back\\slash", "o'neil"})
    EXPECT_EQ(parse_act_as(act_as_options(user)), user) << user;
  EXPECT_EQ(parse_act_as("-ccartridgedb.act_as=bob"), "bob");
  EXPECT_EQ(parse_act_as("--cartridgedb.act_as=bob -c geqo=off"), "bob");
}

TEST(NodeLogin, OptionsWithoutActAsNameNobodyAndMalformedOnesAreRefused) {
  EXPECT_EQ(parse_act_as(""), std::nullopt);
  EXPECT_EQ(parse_act_as("-c geqo=off"), std::nullopt);
  EXPECT_THROW(parse_act_as("-c cartridgedb.act_as="), InvalidArgument);
  EXPECT_THROW(parse_act_as("-c cartridgedb.act_as=a -c cartridgedb.act_as=b"), InvalidArgument);
  EXPECT_THROW(parse_act_as(std::string(70000, 'x')), InvalidArgument);
}

}  // namespace
}  // namespace cdb
