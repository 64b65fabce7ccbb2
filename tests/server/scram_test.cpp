// SCRAM-SHA-256: the RFC 7677 exchange byte for byte, secrets, the users
// file; then psql and psycopg2 against a server with --auth scram.
#include <gtest/gtest.h>

#include "server/message_reader.h"
#include "server/scram.h"
#include "server/server_process.h"
#include "server/users.h"

namespace cdb::test {
namespace {

using server::ScramExchange;
using server::ScramSecret;

ScramSecret rfc7677_secret() {
  return ScramSecret::from_password("pencil", 4096, *server::base64_decode("W22ZaJ0SNY7soEsUEjb6gQ=="));
}

TEST(Scram, Rfc7677Example) {
  ScramExchange x(rfc7677_secret(), "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
  EXPECT_EQ(x.first("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"),
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  auto v = x.final("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
}

TEST(Scram, WrongProofAndUnknownUserFail) {
  const std::string final_msg =
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
  ScramExchange wrong(ScramSecret::from_password("not pencil", 4096, *server::base64_decode("W22ZaJ0SNY7soEsUEjb6gQ==")),
                      "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
  wrong.first("n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  EXPECT_FALSE(wrong.final(final_msg).has_value());

  ScramExchange unknown(std::nullopt, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
  EXPECT_NE(unknown.first("n,,n=user,r=rOprNGfwEbeRWgbNEkqO").find(",i=4096"), std::string::npos);
  EXPECT_FALSE(unknown.final(final_msg).has_value());
}

TEST(Scram, MalformedMessagesAreProtocolViolations) {
  ScramExchange x(rfc7677_secret());
  EXPECT_THROW(x.final("c=biws,r=x,p=AAAA"), server::ProtocolViolation);  // before first
  EXPECT_THROW(x.first("p=tls-server-end-point,,n=,r=abc"), server::ProtocolViolation);
  EXPECT_THROW(x.first("x"), server::ProtocolViolation);
  EXPECT_THROW(x.first("n,,n=user"), server::ProtocolViolation);  // no nonce
  x.first("n,,n=,r=abc");
  EXPECT_THROW(x.final("c=biws,r=WRONGNONCE,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="), server::ProtocolViolation);
}

TEST(Scram, SecretRoundTripsThroughText) {
  const ScramSecret s = ScramSecret::from_password("secret");
  const std::string text = s.to_string();
  EXPECT_EQ(text.rfind("SCRAM-SHA-256$4096:", 0), 0u) << text;
  auto back = ScramSecret::parse(text);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->salt, s.salt);
  EXPECT_EQ(back->stored_key, s.stored_key);
  EXPECT_EQ(back->server_key, s.server_key);
  EXPECT_FALSE(ScramSecret::parse("md5abc").has_value());
  EXPECT_FALSE(ScramSecret::parse("SCRAM-SHA-256$x:AAAA$AAAA:AAAA").has_value());
}

TEST(Scram, UsersFileAddReplaceAndErrors) {
  TempDir dir("users");
  const std::string path = (dir.path() / "users").string();
  server::UserFile::set_password(path, "alice", "one");
  server::UserFile::set_password(path, "bob", "two");
  server::UserFile::set_password(path, "alice", "three");  // replaces
  auto f = server::UserFile::load(path);
  EXPECT_EQ(f.size(), 2u);
  EXPECT_TRUE(f.find("bob").has_value());
  EXPECT_FALSE(f.find("carol").has_value());
  write_text(dir.path() / "bad", "# comment\n\nalice:plaintext\n");
  try {
    server::UserFile::load((dir.path() / "bad").string());
    FAIL() << "a malformed users file loaded";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(":3:"), std::string::npos) << e.what();
  }
}

class ScramServer : public ::testing::Test {
 protected:
  static std::string users_file(const TempDir& dir) {
    const std::string path = (dir.path() / "users").string();
    auto r = run_command("echo 'correct horse' | " + std::string(CDB_BIN_DIR) + "/cartridge serve --users " +
                         shell_quote(path) + " --add-user tester");
    EXPECT_EQ(r.status, 0) << r.output;
    return path;
  }
  TempDir users_dir{"users"};
  ServerProcess server{{"--auth", "scram", "--users", users_file(users_dir)}};
};

TEST_F(ScramServer, PsqlWithTheRightPassword) {
  auto r = server.psql("SHOW MODEL", "", "PGPASSWORD='correct horse'");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("property"), std::string::npos) << r.output;
}

TEST_F(ScramServer, PsqlWithAWrongPasswordOrUser) {
  auto r = server.psql("SHOW MODEL", "", "PGPASSWORD='wrong horse'");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("password authentication failed for user \"tester\""), std::string::npos) << r.output;
  r = run_command("PGPASSWORD='correct horse' psql -X " + shell_quote(server.conninfo("mallory")) + " -c 'SHOW MODEL'");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("password authentication failed for user \"mallory\""), std::string::npos) << r.output;
}

TEST_F(ScramServer, Psycopg2BadPasswordIsOperationalError) {
  auto r = server.python("bad_password.py", R"PY(
import sys, psycopg2
port = int(sys.argv[1])
try:
    psycopg2.connect(host="127.0.0.1", port=port, user="tester", password="nope", dbname="x")
    print("connected?!")
except psycopg2.OperationalError as e:
    assert "28P01" in str(e) or "password authentication failed" in str(e), str(e)
    print("OperationalError ok")
conn = psycopg2.connect(host="127.0.0.1", port=port, user="tester", password="correct horse", dbname="x")
conn.autocommit = True
cur = conn.cursor()
cur.execute("SHOW MODEL")
print("rows", len(cur.fetchall()))
)PY");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("OperationalError ok"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("rows "), std::string::npos) << r.output;
}

}  // namespace
}  // namespace cdb::test
