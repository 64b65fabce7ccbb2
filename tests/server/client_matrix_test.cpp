// The client matrix: stock PostgreSQL clients against a real `cartridge
// serve` with SCRAM. Each connects as a real user, runs a parameterized
// ASK, gets 42P01 for an unknown corpus, and lists the catalog's relations
// through its own metadata API: psql's \d, \dt, \d corpora, \l, \conninfo,
// \x; pgjdbc's DatabaseMetaData (a single-file `java` program);
// node-postgres; SQLAlchemy's inspector; psycopg 3 in binary format.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "server/server_process.h"
#include "support/npm_packages.h"

namespace cdb::test {
namespace {

constexpr const char* kPassword = "matrix pw";
constexpr const char* kJdbcJar = "/usr/share/java/postgresql.jar";

class ClientMatrix : public ::testing::Test {
 protected:
  static std::string users_file(const TempDir& dir) {
    const std::string path = (dir.path() / "users.txt").string();
    auto r = run_command(std::string("echo '") + kPassword + "' | " + CDB_BIN_DIR + "/cartridge serve --users " +
                         shell_quote(path) + " --add-user tester");
    EXPECT_EQ(r.status, 0) << r.output;
    return path;
  }

  void SetUp() override {
    auto r = run_command("PGPASSWORD='" + std::string(kPassword) + "' psql -X -v ON_ERROR_STOP=1 " +
                         shell_quote(server.conninfo()) + " -c " + shell_quote(kSetupPets));
    ASSERT_EQ(r.status, 0) << r.output << server.log();
  }

  CommandResult psql(const std::string& args) const {
    return run_command("PGPASSWORD='" + std::string(kPassword) + "' psql -X -v VERBOSITY=verbose " +
                       shell_quote(server.conninfo()) + " " + args);
  }

  std::string port() const { return std::to_string(server.port()); }

  void write(const std::string& name, const std::string& text) const { write_text(server.dir() / name, text); }
  std::string path(const std::string& name) const { return (server.dir() / name).string(); }

  TempDir users_dir{"matrix-users"};
  ServerProcess server{{"--auth", "scram", "--users", users_file(users_dir)}, "matrix"};
};

TEST_F(ClientMatrix, PsqlDescribesTheCatalogAsksWithAVariableAndReports42P01) {
  auto r = psql("-c '\\d' -c '\\dt' -c '\\d corpora' -c '\\l' -c '\\conninfo' -c '\\x' -c 'SELECT name FROM corpora'");
  ASSERT_EQ(r.status, 0) << r.output << server.log();
  // \d and \dt: the relations a user may read, as tables of public.
  EXPECT_NE(r.output.find("public | corpora           | table | cartridgedb"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("public | jobs              | table | cartridgedb"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("artifacts"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("sqlite_"), std::string::npos) << r.output;
  // \d corpora: its columns and their types.
  EXPECT_NE(r.output.find("Table \"public.corpora\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("created_at  | timestamp with time zone"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("options     | json"), std::string::npos) << r.output;
  // \l, \conninfo, \x.
  EXPECT_NE(r.output.find("cartridgedb | cartridgedb | UTF8"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("You are connected to database"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Expanded display is on."), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("name | pets"), std::string::npos) << r.output;

  // A parameterized ASK (psql's variables, which it quotes with :'q'; psql
  // interpolates them in a script, not in -c) and an unknown corpus.
  r = run_command("echo \"ASK :'q' USING pets WITH (max_tokens = 4);\" | PGPASSWORD='" + std::string(kPassword) +
                  "' psql -X -v ON_ERROR_STOP=1 " + shell_quote(server.conninfo()) + " -v q=\"Mia's cat\" -f -");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("(1 row)"), std::string::npos) << r.output;
  r = psql("-c \"ASK 'x' USING nowhere\"");
  EXPECT_NE(r.output.find("ERROR:  42P01"), std::string::npos) << r.output;
}

TEST_F(ClientMatrix, JdbcListsTablesAndColumnsAndRunsAPreparedAsk) {
  ASSERT_TRUE(std::filesystem::exists(kJdbcJar)) << "install libpostgresql-jdbc-java (./cartridgedb.sh setup)";
  write("Matrix.java", R"JAVA(
import java.sql.*;
public class Matrix {
  public static void main(String[] a) throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + a[0] + "/cartridge", "tester", a[1])) {
      DatabaseMetaData md = c.getMetaData();
      System.out.println("product " + md.getDatabaseProductName() + " " + md.getDatabaseProductVersion());
      try (ResultSet rs = md.getTables(null, null, "%", new String[] {"TABLE"})) {
        while (rs.next()) System.out.println("table " + rs.getString("TABLE_SCHEM") + "." + rs.getString("TABLE_NAME"));
      }
      try (ResultSet rs = md.getColumns(null, null, "corpora", "%")) {
        while (rs.next())
          System.out.println("column " + rs.getString("COLUMN_NAME") + " " + rs.getString("TYPE_NAME") + " " +
                             rs.getInt("DATA_TYPE") + " " + rs.getInt("ORDINAL_POSITION"));
      }
      try (ResultSet rs = md.getSchemas()) {
        while (rs.next()) System.out.println("schema " + rs.getString("TABLE_SCHEM"));
      }
      try (ResultSet rs = md.getPrimaryKeys(null, null, "corpora")) {
        System.out.println("primary keys " + (rs.next() ? "some" : "none"));
      }
      try (PreparedStatement ps = c.prepareStatement("ASK ? USING pets WITH (max_tokens = 4)")) {
        ps.setString(1, "Mia's cat");
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          System.out.println("ask tokens=" + rs.getLong("tokens") + " answer=" + (rs.getString("answer").length() > 0));
        }
      }
      try (PreparedStatement ps = c.prepareStatement("SELECT id, name, created_at FROM corpora WHERE name = ?")) {
        ps.setString(1, "pets");
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          System.out.println("typed " + rs.getMetaData().getColumnTypeName(1) + " " + rs.getLong(1) + " " +
                             rs.getMetaData().getColumnTypeName(3) + " " + (rs.getTimestamp(3) != null));
        }
      }
      try (Statement s = c.createStatement()) {
        s.executeQuery("ASK 'x' USING nowhere");
      } catch (SQLException e) {
        System.out.println("error " + e.getSQLState());
      }
    }
  }
}
)JAVA");
  auto r = run_command(std::string("java -cp ") + kJdbcJar + " " + shell_quote(path("Matrix.java")) + " " + port() +
                       " " + shell_quote(kPassword));
  ASSERT_EQ(r.status, 0) << r.output << server.log();
  EXPECT_NE(r.output.find("product PostgreSQL 15.0"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("table public.corpora"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("table public.documents"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("table public.artifacts"), std::string::npos) << r.output;
  // java.sql.Types: BIGINT -5, VARCHAR 12 (pgjdbc maps text so), TIMESTAMP 93.
  EXPECT_NE(r.output.find("column id int8 -5 1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("column name text 12 2"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("column created_at timestamptz 93 6"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("schema public"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("schema information_schema"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("primary keys none"), std::string::npos) << r.output;  // no index is exposed
  EXPECT_NE(r.output.find("ask tokens=4 answer=true"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("typed int8 1 timestamptz true"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("error 42P01"), std::string::npos) << r.output;
}

TEST_F(ClientMatrix, NodePostgresAsksWithAParameterAndListsRelations) {
  const auto pg = npm_dir() / "node_modules" / "pg";
  ASSERT_TRUE(std::filesystem::exists(pg / "package.json"))
      << pg << " is missing: run ./cartridgedb.sh setup (it installs npm's pg into third_party/npm)";
  write("matrix.js", R"JS(
const { Client } = require(process.argv[2]);
(async () => {
  const c = new Client({ host: '127.0.0.1', port: +process.argv[3], user: 'tester', password: process.argv[4],
                         database: 'cartridge' });
  await c.connect();
  const ask = await c.query('ASK $1 USING pets WITH (max_tokens = 4)', ["Mia's cat"]);
  console.log('ask', ask.fields.map(f => f.name + ':' + f.dataTypeID).join(','), typeof ask.rows[0].answer);
  const t = await c.query("SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1",
                          ['public']);
  console.log('tables', t.rows.map(r => r.table_name).join(','));
  const typed = await c.query('SELECT relhasindex, relnatts FROM pg_catalog.pg_class WHERE relname = $1', ['corpora']);
  console.log('typed', JSON.stringify(typed.rows[0]));
  try { await c.query("ASK 'x' USING nowhere"); } catch (e) { console.log('error', e.code); }
  await c.end();
})().catch(e => { console.error(e); process.exit(1); });
)JS");
  auto r = run_command("node " + shell_quote(path("matrix.js")) + " " + shell_quote(pg.string()) + " " + port() + " " +
                       shell_quote(kPassword));
  ASSERT_EQ(r.status, 0) << r.output << server.log();
  // ASK's columns are typed: tokens is int8 (20).
  EXPECT_NE(r.output.find("ask answer:25,tokens:20,finish:25,sources:25 string"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("tables cartridge_tensors,cartridges,corpora,corpus_versions,documents,jobs,pins,settings,"
                          "tokenized_corpora"),
            std::string::npos)
      << r.output;
  // bool arrives as a boolean, int2 as a number.
  EXPECT_NE(r.output.find("typed {\"relhasindex\":false,\"relnatts\":6}"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("error 42P01"), std::string::npos) << r.output;
}

TEST_F(ClientMatrix, SqlAlchemyConnectsInspectsAndBindsParameters) {
  auto r = server.python("matrix_sa.py", R"PY(
import sys
from sqlalchemy import create_engine, inspect, text, exc
e = create_engine(f"postgresql+psycopg2://tester:matrix%20pw@127.0.0.1:{sys.argv[1]}/cartridge")  # kPassword
with e.connect() as c:
    row = c.execute(text("ASK :q USING pets WITH (max_tokens = 4)"), {"q": "Mia's cat"}).one()
    print("ask", len(row.answer) > 0, row.tokens)
    print("bound", c.execute(text("SELECT name FROM corpora WHERE name = :n"), {"n": "pets"}).fetchall())
    try:
        c.execute(text("ASK 'x' USING nowhere"))
    except exc.ProgrammingError as err:
        print("error", err.orig.pgcode)
insp = inspect(e)
print("tables", insp.get_table_names())
print("columns", [(c["name"], str(c["type"])) for c in insp.get_columns("corpora")])
)PY");
  ASSERT_EQ(r.status, 0) << r.output << server.log();
  EXPECT_NE(r.output.find("ask True 4"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("bound [('pets',)]"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("error 42P01"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("tables ['cartridge_tensors', 'cartridges', 'corpora', 'corpus_versions', 'documents', "
                          "'jobs', 'pins', 'settings', 'tokenized_corpora']"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("('id', 'BIGINT'), ('name', 'TEXT')"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("('created_at', 'TIMESTAMP')"), std::string::npos) << r.output;
}

TEST_F(ClientMatrix, Psycopg3ReadsTypedColumnsInBinaryFormat) {
  auto r = server.python("matrix_pg3.py", R"PY(
import sys, datetime, psycopg
with psycopg.connect(host="127.0.0.1", port=int(sys.argv[1]), user="tester", password="matrix pw",
                     dbname="cartridge", autocommit=True) as conn:
    for binary in (False, True):
        cur = conn.cursor(binary=binary)
        row = cur.execute("SELECT id, name, created_at, options, relhasindex FROM corpora, pg_class "
                          "WHERE relname = 'corpora' AND name = %s", ("pets",)).fetchone()
        assert isinstance(row[0], int) and row[0] >= 1, row
        assert row[1] == "pets", row
        assert isinstance(row[2], datetime.datetime) and row[2].tzinfo is not None, row
        assert isinstance(row[3], dict), row
        assert row[4] is False, row
        print("binary" if binary else "text", [d.type_code for d in cur.description])
    ask = conn.cursor(binary=True).execute("ASK %s USING pets WITH (max_tokens = 4)", ("Mia's cat",)).fetchone()
    print("ask", type(ask[1]).__name__, ask[1])
    try:
        conn.execute("ASK 'x' USING nowhere")
    except psycopg.errors.UndefinedTable as e:
        print("error", e.sqlstate)
)PY");
  ASSERT_EQ(r.status, 0) << r.output << server.log();
  EXPECT_NE(r.output.find("text [20, 25, 1184, 114, 16]"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("binary [20, 25, 1184, 114, 16]"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ask int 4"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("error 42P01"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace cdb::test
