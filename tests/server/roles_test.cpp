// Roles over the wire: a real `cartridge serve` with SCRAM and several
// users (an owner, a user granted USAGE, one not granted, a superuser),
// each sending each kind of statement through libpq; 42501 where refused.
// LOAD FILE / LOAD DIRECTORY confined to --load-root; quotas (53400); the
// users file's roles, quotas and how it is written; roles under trust.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sys/stat.h>

#include <map>
#include <memory>

#include "server/scram.h"
#include "server/server_process.h"
#include "server/users.h"

namespace cdb::test {
namespace {

const std::string kCartridge = std::string(CDB_BIN_DIR) + "/cartridge";

// "" when `query` succeeds, else its SQLSTATE; `message` gets the error.
std::string run_as(PGconn* c, const std::string& query, std::string* message = nullptr,
                   std::vector<std::string>* first_column = nullptr) {
  PGresult* r = PQexec(c, query.c_str());
  std::string state;
  const auto st = PQresultStatus(r);
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    const char* s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    state = s ? s : "?????";
    if (message) *message = PQresultErrorMessage(r);
  } else if (first_column) {
    for (int i = 0; i < PQntuples(r); ++i) first_column->push_back(PQgetvalue(r, i, 0));
  }
  PQclear(r);
  return state;
}

CommandResult add_user(const std::string& users, const std::string& name, bool superuser = false) {
  return run_command("echo 'pw-" + name + "' | " + kCartridge + " serve --users " + shell_quote(users) +
                     " --add-user " + name + (superuser ? " --superuser" : ""));
}

// The error text of `f`, which must throw std::runtime_error.
template <class F>
std::string users_file_error(F f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

// One server for the whole suite: starting one loads the model.
class RolesOverTheWire : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    files = std::make_unique<TempDir>("roles-wire");
    users = (files->path() / "users").string();
    // What --add-user and --set-quota call (UsersFileRoles tests the flags).
    for (const char* u : {"alice", "bob", "carol", "dave"})
      server::UserFile::set_password(users, u, std::string("pw-") + u, /*superuser=*/false);
    server::UserFile::set_password(users, "root", "pw-root", /*superuser=*/true);
    server::UserFile::set_quota(users, "dave", "corpora=1");
    root_dir = files->path() / "load-root";
    outside = files->path() / "outside";
    std::filesystem::create_directories(root_dir / "docs");
    std::filesystem::create_directories(outside);
    write_text(root_dir / "a.txt", "Pip the frog lives by the pond.");
    write_text(root_dir / "docs" / "b.txt", "Lola the bird sings.");
    write_text(outside / "secret.txt", "A secret outside the root.");
    std::filesystem::create_symlink(outside / "secret.txt", root_dir / "escape.txt");
    std::filesystem::create_symlink(outside, root_dir / "escape-dir");
    server = std::make_unique<ServerProcess>(std::vector<std::string>{
        "--auth", "scram", "--users", users, "--load-root", root_dir.string()});
  }
  static void TearDownTestSuite() {
    server.reset();
    files.reset();
  }

  PGconn* connect(const std::string& user) {
    PGconn* c = PQconnectdb(server->conninfo(user, "password=pw-" + user).c_str());
    EXPECT_EQ(PQstatus(c), CONNECTION_OK) << user << ": " << PQerrorMessage(c);
    conns_.emplace_back(c, &PQfinish);
    return c;
  }

  static std::unique_ptr<TempDir> files;
  static std::string users;
  static std::filesystem::path root_dir, outside;
  static std::unique_ptr<ServerProcess> server;

 private:
  std::vector<std::unique_ptr<PGconn, void (*)(PGconn*)>> conns_;
};
std::unique_ptr<TempDir> RolesOverTheWire::files;
std::string RolesOverTheWire::users;
std::filesystem::path RolesOverTheWire::root_dir, RolesOverTheWire::outside;
std::unique_ptr<ServerProcess> RolesOverTheWire::server;

TEST_F(RolesOverTheWire, EachRoleMayRunExactlyTheStatementsItsRoleAllows) {
  PGconn* alice = connect("alice");
  ASSERT_EQ(run_as(alice, "CREATE CORPUS farm"), "");
  ASSERT_EQ(run_as(alice, "ADD DOCUMENT 'Pip the frog jumps by the pond.' AS 'pip.txt' TO farm"), "");
  ASSERT_EQ(run_as(alice, "GRANT USAGE ON CORPUS farm TO bob"), "");
  std::vector<std::string> job;
  ASSERT_EQ(run_as(alice, "TRAIN CARTRIDGE FOR farm WITH (steps = 1)", nullptr, &job), "");
  ASSERT_EQ(job.size(), 1u);

  const std::vector<std::string> actors = {"alice", "bob", "carol", "root"};  // owner, granted, ungranted, superuser
  std::map<std::string, PGconn*> c;
  for (const auto& a : actors) c[a] = a == "alice" ? alice : connect(a);

  struct Row {
    Row(std::function<std::string(const std::string&)> s, std::string a, bool over = false, std::string k = "")
        : statement(std::move(s)), allowed(std::move(a)), may_find_it_over(over), skip(std::move(k)) {}
    std::function<std::string(const std::string& who)> statement;
    std::string allowed;     // initials of the actors that may: o(wner) g(ranted) u(ngranted) s(uperuser)
    bool may_find_it_over;   // CANCEL of a job that already ended: 22023, not 42501
    std::string skip;        // actors that do not run it here
  };
  auto fixed = [](std::string s) { return [s](const std::string&) { return s; }; };
  const std::vector<Row> matrix = {
      {[](const std::string& w) { return "CREATE CORPUS own_" + w; }, "ogus"},
      {[](const std::string& w) { return "ADD DOCUMENT 'Text by " + w + ".' AS '" + w + ".txt' TO farm"; }, "os"},
      {[](const std::string& w) { return "REMOVE DOCUMENT '" + w + ".txt' FROM farm"; }, "os"},
      {fixed("LOAD FILE 'a.txt' INTO farm"), "s"},
      {fixed("LOAD DIRECTORY 'docs' INTO farm"), "s"},
      {fixed("TRAIN CARTRIDGE FOR farm WITH (steps = 1)"), "os"},
      {fixed("CANCEL JOB " + job[0]), "os", true},
      {fixed("ASK 'Who is Pip?' USING farm WITH (max_tokens = 2)"), "ogs"},
      {fixed("EXPLAIN ASK 'Who is Pip?' USING farm"), "ogs"},
      {fixed("SHOW DOCUMENTS IN farm"), "ogs"},
      {fixed("SHOW CARTRIDGES FOR farm"), "ogs"},
      {fixed("SHOW CORPORA"), "ogus"},
      {fixed("SHOW CARTRIDGES"), "ogus"},
      {fixed("SHOW JOBS"), "ogus"},
      {fixed("SHOW MODEL"), "ogus"},
      {fixed("SELECT count(*) FROM corpora"), "ogus"},
      {fixed("PIN CARTRIDGE FOR farm"), "os"},
      {fixed("UNPIN CARTRIDGE FOR farm"), "os"},
      {fixed("GRANT USAGE ON CORPUS farm TO dave"), "os"},
      {fixed("REVOKE USAGE ON CORPUS farm FROM dave"), "os"},
      {fixed("DROP CORPUS farm"), "", false, "os"},  // the owner and a superuser drop corpora below
  };
  const std::string initials = "ogus";
  for (const auto& row : matrix) {
    for (size_t i = 0; i < actors.size(); ++i) {
      if (row.skip.find(initials[i]) != std::string::npos) continue;
      const std::string sql = row.statement(actors[i]);
      std::string message;
      const std::string state = run_as(c[actors[i]], sql, &message);
      const bool allowed = row.allowed.find(initials[i]) != std::string::npos;
      if (!allowed) {
        EXPECT_EQ(state, "42501") << actors[i] << ": " << sql << "\n" << message;
        EXPECT_NE(message.find("permission denied: "), std::string::npos) << message;
      } else if (row.may_find_it_over) {
        EXPECT_NE(state, "42501") << actors[i] << ": " << sql << "\n" << message;
      } else {
        EXPECT_EQ(state, "") << actors[i] << ": " << sql << "\n" << message;
      }
    }
  }
  // What SHOW CORPORA lists: the corpora each may use.
  auto corpora = [&](const std::string& who) {
    std::vector<std::string> names;
    EXPECT_EQ(run_as(c[who], "SHOW CORPORA", nullptr, &names), "");
    return names;
  };
  EXPECT_EQ(corpora("alice"), (std::vector<std::string>{"farm", "own_alice"}));
  EXPECT_EQ(corpora("bob"), (std::vector<std::string>{"farm", "own_bob"}));
  EXPECT_EQ(corpora("carol"), (std::vector<std::string>{"own_carol"}));
  EXPECT_EQ(corpora("root").size(), 5u);
  // A superuser drops another's corpus; the owner its own.
  EXPECT_EQ(run_as(c["root"], "DROP CORPUS own_carol"), "");
  EXPECT_EQ(run_as(alice, "DROP CORPUS farm"), "");
  EXPECT_EQ(corpora("bob"), (std::vector<std::string>{"own_bob"}));
  for (const char* name : {"own_alice", "own_bob", "own_root"}) run_as(c["root"], std::string("DROP CORPUS ") + name);
}

TEST_F(RolesOverTheWire, ARemoteSuperuserReadsOnlyInsideTheLoadRoot) {
  PGconn* root = connect("root");
  ASSERT_EQ(run_as(root, "CREATE CORPUS loaded"), "");
  EXPECT_EQ(run_as(root, "LOAD FILE 'a.txt' INTO loaded"), "");
  EXPECT_EQ(run_as(root, "LOAD FILE '" + (root_dir / "docs" / "b.txt").string() + "' INTO loaded"), "");
  std::string first;
  const std::vector<std::string> refused = {"/etc/shadow",       "/proc/self/environ",
                                            "/etc/passwd",       "/no/such/file",
                                            "../outside/secret.txt", "docs/../../outside/secret.txt",
                                            "escape.txt",        "escape-dir/secret.txt",
                                            (outside / "secret.txt").string()};
  for (const std::string& path : refused) {
    std::string message;
    EXPECT_EQ(run_as(root, "LOAD FILE '" + path + "' INTO loaded", &message), "42501") << path << ": " << message;
    // Existing or not, file or not: one message, with only the path changed.
    std::string shape = message;
    if (const size_t at = shape.find(path); at != std::string::npos) shape.replace(at, path.size(), "P");
    if (first.empty()) first = shape;
    EXPECT_EQ(shape, first) << path;
  }
  for (const std::string dir : {"/etc/ssh", "/etc", "..", "escape-dir", "."}) {
    std::string message;
    EXPECT_EQ(run_as(root, "LOAD DIRECTORY '" + dir + "' INTO loaded", &message), "42501") << dir << ": " << message;
  }
  std::vector<std::string> docs;
  ASSERT_EQ(run_as(root, "SHOW DOCUMENTS IN loaded", nullptr, &docs), "");
  EXPECT_EQ(docs, (std::vector<std::string>{"a.txt", "b.txt"}));
  EXPECT_EQ(run_as(root, "DROP CORPUS loaded"), "");
}

TEST_F(RolesOverTheWire, AQuotaReachedIs53400AndNamesTheQuota) {
  PGconn* dave = connect("dave");  // --set-quota dave corpora=1
  ASSERT_EQ(run_as(dave, "CREATE CORPUS dave_one"), "");
  std::string message;
  EXPECT_EQ(run_as(dave, "CREATE CORPUS dave_two", &message), "53400");
  EXPECT_NE(message.find("the quota 'corpora' is 1"), std::string::npos) << message;
  ASSERT_EQ(run_as(dave, "ADD DOCUMENT 'Pip.' TO dave_one"), "");
  EXPECT_EQ(run_as(dave, "TRAIN CARTRIDGE FOR dave_one WITH (steps = 100000)", &message), "53400");
  EXPECT_NE(message.find("'steps_per_job' of 500"), std::string::npos) << message;
  EXPECT_EQ(run_as(dave, "DROP CORPUS dave_one"), "");
}

// ---- a server without --load-root, under trust -------------------------------

TEST(RolesUnderTrust, WithoutALoadRootNoRemoteSessionReadsServerFiles) {
  ServerProcess server;  // --auth trust: "tester" is not listed, so a superuser
  auto r = server.psql("CREATE CORPUS etc");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* statement : {"LOAD FILE '/etc/passwd' INTO etc", "LOAD FILE '/etc/shadow' INTO etc",
                                "LOAD FILE '/proc/self/environ' INTO etc", "LOAD DIRECTORY '/etc/ssh' INTO etc"}) {
    r = server.psql(statement);
    EXPECT_NE(r.status, 0) << statement;
    EXPECT_NE(r.output.find("42501"), std::string::npos) << statement << "\n" << r.output;
    EXPECT_NE(r.output.find("without --load-root"), std::string::npos) << r.output;
  }
  r = server.psql_rows("SHOW DOCUMENTS IN etc");
  EXPECT_EQ(r.output, "");
}

TEST(RolesUnderTrust, ASessionActsAsItsStartupUserWithTheRoleTheUsersFileGivesIt) {
  TempDir dir("trust-users");
  const std::string users = (dir.path() / "users").string();
  ASSERT_EQ(add_user(users, "alice").status, 0);
  ServerProcess server({"--auth", "trust", "--users", users});
  auto as = [&](const std::string& user, const std::string& sql) {
    return run_command("psql -X -v ON_ERROR_STOP=1 -v VERBOSITY=verbose " + shell_quote(server.conninfo(user)) +
                       " -c " + shell_quote(sql));
  };
  auto r = as("tester", "CREATE CORPUS boss");  // not listed: a superuser
  ASSERT_EQ(r.status, 0) << r.output;
  r = as("alice", "DROP CORPUS boss");  // listed as an ordinary user
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("42501"), std::string::npos) << r.output;
  r = as("alice", "CREATE CORPUS mine");
  ASSERT_EQ(r.status, 0) << r.output;
  r = as("tester", "DROP CORPUS mine");
  EXPECT_EQ(r.status, 0) << r.output;
}

// ---- the users file -------------------------------------------------------------

TEST(UsersFileRoles, AddUserWritesAnOrdinaryUserOrASuperuserInAFileOnlyItsOwnerReads) {
  TempDir dir("users-roles");
  const std::string users = (dir.path() / "users").string();
  ASSERT_EQ(run_command("umask 000; echo pw | " + kCartridge + " serve --users " + shell_quote(users) +
                        " --add-user alice").status, 0);
  ASSERT_EQ(add_user(users, "root", true).status, 0);
  const std::string text = read_text(users);
  EXPECT_NE(text.find("\nroot:SCRAM-SHA-256$"), std::string::npos) << text;
  EXPECT_NE(text.find(":user\n"), std::string::npos) << text;
  EXPECT_NE(text.find(":superuser\n"), std::string::npos) << text;
  struct stat st{};
  ASSERT_EQ(::stat(users.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const auto f = server::UserFile::load(users);
  EXPECT_FALSE(f.entry("alice")->superuser);
  EXPECT_TRUE(f.entry("root")->superuser);
  EXPECT_FALSE(f.entry("nobody"));
  EXPECT_NE(users_file_error([&] { server::UserFile::set_password(users, "Public", "pw"); }).find("reserved"),
            std::string::npos)
      << "PUBLIC is every user";
}

TEST(UsersFileRoles, EntriesWrittenBeforeRolesExistedAreSuperusers) {
  TempDir dir("users-legacy");
  const std::string users = (dir.path() / "users").string();
  write_text(users, "# written by an older cartridge\nold:" +
                        server::ScramSecret::from_password("pw").to_string() + "\n");
  const auto f = server::UserFile::load(users);
  ASSERT_TRUE(f.entry("old"));
  EXPECT_TRUE(f.entry("old")->superuser);
  EXPECT_TRUE(f.find("old"));
  // Adding another user keeps the old entry (and the comment) as they were.
  server::UserFile::set_password(users, "new", "pw");
  const std::string text = read_text(users);
  EXPECT_EQ(text.rfind("# written by an older cartridge\nold:SCRAM-SHA-256$", 0), 0u) << text;
  EXPECT_TRUE(server::UserFile::load(users).entry("old")->superuser);
}

TEST(UsersFileRoles, SetQuotaWritesItAndAPasswordChangeKeepsIt) {
  TempDir dir("users-quota");
  const std::string users = (dir.path() / "users").string();
  ASSERT_EQ(add_user(users, "alice").status, 0);
  // The flag once (the binary loads LibTorch: seconds), then the function it calls.
  auto r = run_command(kCartridge + " serve --users " + shell_quote(users) + " --set-quota alice queued_jobs=7");
  ASSERT_EQ(r.status, 0) << r.output;
  server::UserFile::set_quota(users, "alice", "bytes_stored=unlimited");
  EXPECT_NE(read_text(users).find(":user:queued_jobs=7,bytes_stored=unlimited\n"), std::string::npos)
      << read_text(users);
  EXPECT_NE(users_file_error([&] { server::UserFile::set_quota(users, "alice", "gpus=3"); }).find("unknown quota 'gpus'"),
            std::string::npos);
  EXPECT_NE(users_file_error([&] { server::UserFile::set_quota(users, "mallory", "corpora=1"); }).find("no user 'mallory'"),
            std::string::npos);
  EXPECT_NE(users_file_error([&] { server::UserFile::set_quota(users, "alice", "corpora=-2"); }).find("non-negative"),
            std::string::npos);
  server::UserFile::set_password(users, "alice", "a new password");
  const auto e = server::UserFile::load(users).entry("alice");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->quotas.queued_jobs, 7);
  EXPECT_EQ(e->quotas.bytes_stored, -1);
  EXPECT_EQ(e->quotas.corpora, cartridgedb::Quotas{}.corpora);
}

TEST(UsersFileRoles, RewritingNeverFollowsALinkPlantedAtTheTemporaryName) {
  // The temporary file is created anew (O_CREAT | O_EXCL, 0600), so a link
  // planted at users.tmp neither receives the secrets nor lends its mode.
  TempDir dir("users-tmp");
  const std::string users = (dir.path() / "users").string();
  const auto victim = dir.path() / "victim";
  write_text(victim, "untouched\n");
  ::chmod(victim.c_str(), 0644);
  std::filesystem::create_symlink(victim, users + ".tmp");
  server::UserFile::set_password(users, "alice", "pw");
  EXPECT_EQ(read_text(victim), "untouched\n");
  struct stat st{};
  ASSERT_EQ(::stat(users.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(server::UserFile::load(users).entry("alice"));
}

}  // namespace
}  // namespace cdb::test
