// Roles in the executor: owners, USAGE grants (to a user and to PUBLIC),
// superusers, corpora without owner, what SHOW lists, LOAD FILE / LOAD
// DIRECTORY confined to the load root, and quotas. In-process (each
// session an Executor with its identity); tests/server/roles_test.cpp runs
// the role matrix over the wire.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "cartridgedb/cartridgedb.h"
#include "db/access.h"
#include "planner_fixture.h"

namespace cdb::test {
namespace {

SessionIdentity remote(const std::string& user, bool superuser = false, const std::filesystem::path& root = {}) {
  SessionIdentity id;
  id.user = user;
  id.superuser = superuser;
  id.quotas = superuser ? Quotas::unlimited() : Quotas{};
  id.confine_server_files = true;
  id.load_root = root;
  return id;
}

class Roles : public ::testing::Test {
 protected:
  Roles() : db(dir.path() / "data", stories_options(/*workers=*/false)) {}

  Executor as(const SessionIdentity& id) { return Executor(db, id); }
  static QueryResult run(Executor& e, const std::string& statement) {
    return e.execute(lang::parse_statement(statement));
  }
  // The message of the E that `statement` throws ("" and a failure if none).
  template <class E>
  static std::string error_of(Executor& e, const std::string& statement) {
    try {
      run(e, statement);
    } catch (const E& err) {
      return err.what();
    }
    ADD_FAILURE() << statement << " was not refused";
    return "";
  }
  static std::string denied(Executor& e, const std::string& s) { return error_of<PermissionDenied>(e, s); }
  static std::string over_quota(Executor& e, const std::string& s) { return error_of<QuotaExceeded>(e, s); }
  static std::vector<std::string> first_column(const QueryResult& r) {
    std::vector<std::string> out;
    for (const auto& row : r.rows) out.push_back(row[0]);
    return out;
  }

  TempDir dir{"roles"};
  Database db;
};

TEST_F(Roles, OnlyTheOwnerOrASuperuserMayChangeDropTrainOrCancel) {
  Executor alice = as(remote("alice")), bob = as(remote("bob")), root = as(remote("root", true));
  run(alice, "CREATE CORPUS farm");
  run(alice, "ADD DOCUMENT 'Pip the frog jumps.' AS 'pip.txt' TO farm");
  EXPECT_EQ(db.store().catalog().corpus_owner(db.store().catalog().corpus("farm").id), "alice");

  EXPECT_EQ(denied(bob, "DROP CORPUS farm"),
            "permission denied: DROP CORPUS farm needs ownership of corpus farm (owner alice) or superuser");
  EXPECT_NE(denied(bob, "ADD DOCUMENT 'x' TO farm").find("ADD DOCUMENT TO farm needs ownership"), std::string::npos);
  denied(bob, "REMOVE DOCUMENT 'pip.txt' FROM farm");
  denied(bob, "TRAIN CARTRIDGE FOR farm WITH (steps = 1)");
  denied(bob, "PIN CARTRIDGE FOR farm");
  denied(bob, "GRANT USAGE ON CORPUS farm TO bob");
  const std::string job = run(alice, "TRAIN CARTRIDGE FOR farm WITH (steps = 1)").rows[0][0];
  EXPECT_NE(denied(bob, "CANCEL JOB " + job).find("needs ownership of the job's corpus (owner alice)"),
            std::string::npos);
  // Granted USAGE changes nothing of that: it is for asking.
  run(alice, "GRANT USAGE ON CORPUS farm TO bob");
  denied(bob, "DROP CORPUS farm");
  denied(bob, "CANCEL JOB " + job);
  EXPECT_EQ(db.store().catalog().job(std::stoll(job))->state, JobState::Queued);

  run(alice, "CANCEL JOB " + job);
  run(root, "REMOVE DOCUMENT 'pip.txt' FROM farm");
  run(root, "DROP CORPUS farm");
  EXPECT_FALSE(db.store().catalog().find_corpus("farm"));
}

TEST_F(Roles, UsageGrantedToAUserOrToPublicLetsItAskAndSeeTheCorpus) {
  Executor alice = as(remote("alice")), bob = as(remote("bob")), carol = as(remote("carol"));
  run(alice, "CREATE CORPUS farm");
  run(alice, "ADD DOCUMENT 'Pip the frog jumps.' TO farm");
  EXPECT_EQ(denied(bob, "ASK 'who?' USING farm WITH (max_tokens = 2)"),
            "permission denied: ASK needs USAGE on corpus farm (owner alice); its owner or a superuser can GRANT "
            "USAGE ON CORPUS farm TO bob");
  denied(bob, "EXPLAIN ASK 'who?' USING farm");
  denied(bob, "SHOW DOCUMENTS IN farm");
  denied(bob, "SHOW CARTRIDGES FOR farm");
  EXPECT_TRUE(run(bob, "SHOW CORPORA").rows.empty());

  run(alice, "GRANT USAGE ON CORPUS farm TO bob");
  EXPECT_EQ(run(bob, "ASK 'who?' USING farm WITH (max_tokens = 2)").rows.size(), 1u);
  EXPECT_EQ(run(bob, "SHOW DOCUMENTS IN farm").rows.size(), 1u);
  EXPECT_EQ(first_column(run(bob, "SHOW CORPORA")), std::vector<std::string>{"farm"});
  denied(carol, "ASK 'who?' USING farm WITH (max_tokens = 2)");

  run(alice, "GRANT USAGE ON CORPUS farm TO PUBLIC");
  EXPECT_EQ(run(carol, "ASK 'who?' USING farm WITH (max_tokens = 2)").rows.size(), 1u);
  run(alice, "REVOKE USAGE ON CORPUS farm FROM PUBLIC");
  denied(carol, "SHOW DOCUMENTS IN farm");
  run(alice, "REVOKE USAGE ON CORPUS farm FROM bob");
  denied(bob, "ASK 'who?' USING farm WITH (max_tokens = 2)");
  EXPECT_NE(run(alice, "REVOKE USAGE ON CORPUS farm FROM bob").text.find("nothing changed"), std::string::npos);
}

TEST_F(Roles, ShowAndTheSelectFilterListOnlyCorporaTheUserMayUse) {
  Executor alice = as(remote("alice")), bob = as(remote("bob")), root = as(remote("root", true));
  run(alice, "CREATE CORPUS farm");
  run(alice, "ADD DOCUMENT 'Pip the frog jumps.' TO farm");
  run(bob, "CREATE CORPUS town");
  run(bob, "ADD DOCUMENT 'Lola sings.' TO town");
  run(alice, "TRAIN CARTRIDGE FOR farm WITH (steps = 1)");
  run(bob, "TRAIN CARTRIDGE FOR town WITH (steps = 1)");

  EXPECT_EQ(first_column(run(alice, "SHOW CORPORA")), std::vector<std::string>{"farm"});
  EXPECT_EQ(first_column(run(bob, "SHOW CORPORA")), std::vector<std::string>{"town"});
  EXPECT_EQ(run(root, "SHOW CORPORA").rows.size(), 2u);
  const auto jobs = run(alice, "SHOW JOBS");
  ASSERT_EQ(jobs.rows.size(), 1u);
  EXPECT_EQ(jobs.rows[0][1], "farm");
  EXPECT_EQ(run(root, "SHOW JOBS").rows.size(), 2u);
  denied(alice, "WAIT JOB " + run(bob, "SHOW JOBS").rows[0][0]);

  // The predicate the SELECT pass-through filters rows with.
  Catalog& cat = db.store().catalog();
  const int64_t farm = cat.corpus("farm").id, town = cat.corpus("town").id;
  auto visible = alice.access().usable_corpora();
  EXPECT_TRUE(visible(farm));
  EXPECT_FALSE(visible(town));
  run(bob, "GRANT USAGE ON CORPUS town TO alice");
  EXPECT_FALSE(visible(town)) << "decided when it was made";
  EXPECT_TRUE(alice.access().usable_corpora()(town));
  EXPECT_TRUE(root.access().usable_corpora()(town));
  EXPECT_EQ(first_column(run(alice, "SHOW CORPORA")), (std::vector<std::string>{"farm", "town"}));
}

TEST_F(Roles, CorporaWithoutOwnerAreManagedBySuperusersOnly) {
  // The embedded library (and every corpus made before roles) leaves no owner.
  Executor local(db);
  run(local, "CREATE CORPUS old");
  run(local, "ADD DOCUMENT 'Old text.' TO old");
  EXPECT_FALSE(db.store().catalog().corpus_owner(db.store().catalog().corpus("old").id));
  Executor alice = as(remote("alice"));
  EXPECT_EQ(denied(alice, "DROP CORPUS old"),
            "permission denied: DROP CORPUS old needs ownership of corpus old (no owner: managed by superusers) or "
            "superuser");
  denied(alice, "ASK 'x' USING old WITH (max_tokens = 2)");
  EXPECT_TRUE(run(alice, "SHOW CORPORA").rows.empty());
  Executor root = as(remote("root", true));
  run(root, "GRANT USAGE ON CORPUS old TO alice");
  EXPECT_EQ(run(alice, "ASK 'x' USING old WITH (max_tokens = 2)").rows.size(), 1u);
  run(root, "DROP CORPUS old");
}

TEST_F(Roles, ShowModelHidesHostPathsFromOrdinaryUsers) {
  Executor alice = as(remote("alice")), root = as(remote("root", true));
  const auto path = [&](Executor& e) { return run(e, "SHOW MODEL").rows[0][1]; };
  EXPECT_EQ(path(alice), "stories260K.bin");
  EXPECT_EQ(path(root), db.model_path().string());
}

// ---- LOAD FILE / LOAD DIRECTORY -----------------------------------------------

class LoadRoot : public Roles {
 protected:
  LoadRoot() {
    std::filesystem::create_directories(root / "sub");
    write(root / "a.txt", "Inside the root.");
    write(root / "sub" / "b.txt", "Also inside.");
    write(outside / "secret.txt", "Outside the root.");
    std::filesystem::create_symlink(outside / "secret.txt", root / "link.txt");
    std::filesystem::create_symlink(outside, root / "linkdir");
  }
  static void write(const std::filesystem::path& p, const std::string& text) { std::ofstream(p) << text; }

  TempDir files{"load-root"};
  std::filesystem::path root = files.path() / "root";
  std::filesystem::path outside = [this] {
    auto p = files.path() / "outside";
    std::filesystem::create_directories(p);
    return p;
  }();
};

TEST_F(LoadRoot, OrdinaryUsersCannotReadServerFilesAtAll) {
  Executor alice = as(remote("alice", false, root));
  run(alice, "CREATE CORPUS farm");
  EXPECT_EQ(denied(alice, "LOAD FILE 'a.txt' INTO farm"),
            "permission denied: LOAD FILE reads files on the server and needs a superuser (as pg_read_server_files "
            "does); send the text with ADD DOCUMENT instead");
  denied(alice, "LOAD DIRECTORY 'sub' INTO farm");
}

TEST_F(LoadRoot, RemoteSuperusersWithoutALoadRootCannotReadServerFiles) {
  Executor su = as(remote("root", true));
  run(su, "CREATE CORPUS farm");
  EXPECT_NE(denied(su, "LOAD FILE '" + (root / "a.txt").string() + "' INTO farm").find("without --load-root"),
            std::string::npos);
  denied(su, "LOAD DIRECTORY '/etc/ssh' INTO farm");
}

TEST_F(LoadRoot, SuperusersReadInsideTheRootByRelativeOrAbsolutePath) {
  Executor su = as(remote("root", true, root));
  run(su, "CREATE CORPUS farm");
  EXPECT_EQ(run(su, "LOAD FILE 'a.txt' INTO farm").rows[0][2], "1");
  EXPECT_EQ(run(su, "LOAD FILE '" + (root / "sub" / "b.txt").string() + "' INTO farm").rows[0][2], "1");
  EXPECT_EQ(run(su, "LOAD FILE 'sub/../a.txt' INTO farm").rows[0][2], "0") << "the same document again";
  run(su, "CREATE CORPUS town");
  EXPECT_EQ(run(su, "LOAD DIRECTORY 'sub' INTO town").rows[0][2], "1");
}

TEST_F(LoadRoot, EveryPathOutsideTheRootIsRefusedWithOneMessage) {
  Executor su = as(remote("root", true, root));
  run(su, "CREATE CORPUS farm");
  const std::vector<std::string> refused = {
      "/etc/shadow", "/proc/self/environ", "/etc/passwd",  "/no/such/file", "../outside/secret.txt",
      "sub/../../outside/secret.txt", "link.txt", "linkdir/secret.txt", (outside / "secret.txt").string(),
      "/etc",        "missing.txt",  ""};
  for (const auto& path : refused) {
    const std::string msg = denied(su, "LOAD FILE '" + path + "' INTO farm");
    // Whether the path exists, is a directory or a file: the same words.
    EXPECT_EQ(msg, "permission denied: LOAD FILE '" + path +
                       "' is not an existing path inside the server's --load-root (paths outside it, and paths "
                       "that leave it through '..' or symlinks, all get this same message)")
        << path;
  }
  for (const auto& path : {"/etc/ssh", "/etc", "..", "linkdir", "/no/such/dir"})
    denied(su, "LOAD DIRECTORY '" + std::string(path) + "' INTO farm");
  EXPECT_TRUE(db.store().catalog().list_documents(db.store().catalog().corpus("farm").id).empty());
}

TEST_F(LoadRoot, ADirectoryHoldingASymlinkOutOfTheRootLoadsNothing) {
  Executor su = as(remote("root", true, root));
  run(su, "CREATE CORPUS farm");
  // The root itself holds link.txt -> outside/secret.txt.
  const std::string msg = denied(su, "LOAD DIRECTORY '.' INTO farm");
  EXPECT_NE(msg.find("link.txt"), std::string::npos) << msg;
  EXPECT_TRUE(db.store().catalog().list_documents(db.store().catalog().corpus("farm").id).empty());
}

TEST_F(LoadRoot, TheEmbeddedLibraryStillReadsAnyFileAsTheOsUser) {
  Executor local(db);
  run(local, "CREATE CORPUS farm");
  EXPECT_EQ(run(local, "LOAD FILE '" + (outside / "secret.txt").string() + "' INTO farm").rows[0][2], "1");
  run(local, "CREATE CORPUS town");
  EXPECT_EQ(run(local, "LOAD FILE '" + (root / "link.txt").string() + "' INTO town").rows[0][2], "1");
}

// ---- quotas -------------------------------------------------------------------

TEST_F(Roles, QuotasStopAnOrdinaryUserAndNameTheQuota) {
  SessionIdentity id = remote("alice");
  id.quotas = {/*queued_jobs=*/1, /*steps_per_job=*/5, /*corpora=*/2, /*bytes_stored=*/40};
  Executor alice = as(id);
  run(alice, "CREATE CORPUS one");
  run(alice, "CREATE CORPUS two");
  EXPECT_NE(over_quota(alice, "CREATE CORPUS three").find("the quota 'corpora' is 2"), std::string::npos);
  run(alice, "ADD DOCUMENT 'Thirty bytes of text, not more.' TO one");
  EXPECT_NE(over_quota(alice, "ADD DOCUMENT 'Another twenty bytes' TO two").find("'bytes_stored' of 40"),
            std::string::npos);
  EXPECT_NE(over_quota(alice, "TRAIN CARTRIDGE FOR one WITH (steps = 6)").find("'steps_per_job' of 5"),
            std::string::npos);
  // auto_train's jobs are held to it too.
  run(alice, "DROP CORPUS two");
  EXPECT_NE(over_quota(alice, "CREATE CORPUS auto WITH (auto_train = true, train_steps = 9)")
                .find("train_steps = 9 is over user alice's quota 'steps_per_job' of 5"),
            std::string::npos);
  const QueryResult first = run(alice, "TRAIN CARTRIDGE FOR one WITH (steps = 5)");
  EXPECT_NE(over_quota(alice, "TRAIN CARTRIDGE FOR one WITH (steps = 1)").find("'queued_jobs' is 1"),
            std::string::npos);
  // A TRAIN equal to the queued job joins it: no new work, so no quota.
  EXPECT_EQ(run(alice, "TRAIN CARTRIDGE FOR one WITH (steps = 5)").rows, first.rows);
  // Superusers have none, whatever their quotas say.
  SessionIdentity su = remote("root", true);
  su.quotas = id.quotas;
  Executor root = as(su);
  for (const char* c : {"a", "b", "c"}) run(root, std::string("CREATE CORPUS ") + c);
}

TEST_F(Roles, TheDefaultQuotasBoundAnOrdinaryUser) {
  const Quotas q;
  EXPECT_GT(q.queued_jobs, 0);
  EXPECT_LE(q.queued_jobs, 4);
  EXPECT_LE(q.steps_per_job, 1000);
  EXPECT_LE(q.corpora, 100);
  EXPECT_LE(q.bytes_stored, int64_t{1} << 30);
  Executor alice = as(remote("alice"));
  run(alice, "CREATE CORPUS farm");
  run(alice, "ADD DOCUMENT 'Pip.' TO farm");
  EXPECT_THROW(run(alice, "TRAIN CARTRIDGE FOR farm WITH (steps = 100000)"), QuotaExceeded);
}

// ---- the public API -----------------------------------------------------------

TEST(EmbeddedRoles, ASessionWithAnOrdinaryIdentityGetsThePublicPermissionAndQuotaErrors) {
  TempDir dir("embedded-roles");
  cartridgedb::OpenOptions o;
  o.model_path = model_file("stories260K/stories260K.bin").string();
  o.tokenizer_path = model_file("stories260K/tok512.bin").string();
  o.start_workers = false;
  auto db = cartridgedb::Database::open((dir.path() / "data").string(), o);
  db->execute("CREATE CORPUS farm");  // the handle's own session: a superuser; no owner
  cartridgedb::SessionIdentity bob;
  bob.user = "bob";
  bob.superuser = false;
  bob.quotas.corpora = 1;
  auto s = db->new_session(bob);
  try {
    s->execute("DROP CORPUS farm");
    FAIL() << "an ordinary user dropped a corpus it does not own";
  } catch (const cartridgedb::PermissionDenied& e) {
    EXPECT_EQ(e.kind(), cartridgedb::ErrorKind::PermissionDenied);
  }
  s->execute("CREATE CORPUS mine");
  EXPECT_THROW(s->execute("CREATE CORPUS second"), cartridgedb::QuotaExceeded);
  s->execute("DROP CORPUS mine");
  db->new_session()->execute("DROP CORPUS farm");  // new_session() acts as a superuser
}

}  // namespace
}  // namespace cdb::test
