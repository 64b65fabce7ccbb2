// The remote session's parts that need no server: addresses, and a clear
// error when none listens. (The end-to-end test against `cartridge serve`
// needs the server.)
#include "shell/remote_session.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace cdb::shell {
namespace {

TEST(ShellRemote, ConninfoFromHostAndPort) {
  EXPECT_EQ(conninfo_for("db.example:6000"), "host='db.example' port='6000' application_name='cartridge shell'");
  EXPECT_EQ(conninfo_for("localhost"), "host='localhost' port='5433' application_name='cartridge shell'");
  EXPECT_EQ(conninfo_for(":7000"), "host='127.0.0.1' port='7000' application_name='cartridge shell'");
  EXPECT_EQ(conninfo_for("host=h port=1 user=u"), "host=h port=1 user=u");
}

TEST(ShellRemote, NoServerIsAnIoErrorNamingTheAddress) {
  // A port that was free a moment ago: bound, then closed without listening.
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(s, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const int port = ntohs(a.sin_port);
  ::close(s);
  const std::string target = "127.0.0.1:" + std::to_string(port);
  try {
    RemoteSession session(target);
    FAIL() << "connected to " << target;
  } catch (const cartridgedb::IoError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot connect to " + target), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cdb::shell
