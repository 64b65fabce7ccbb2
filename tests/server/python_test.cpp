// Python drivers from Debian: psycopg2 (client-side interpolation, implicit
// BEGIN) and psycopg 3 (server-side $n binding over the extended protocol).
#include <gtest/gtest.h>

#include "server/server_process.h"

namespace cdb::test {
namespace {

using Python = PetsServerTest;

TEST_F(Python, Psycopg2ParameterizedAskAndErrorClasses) {
  auto r = server.python("pg2.py", R"PY(
import sys, psycopg2, psycopg2.errors
conn = psycopg2.connect(host="127.0.0.1", port=int(sys.argv[1]), user="tester", dbname="x")
cur = conn.cursor()  # not autocommit: psycopg2 sends BEGIN first
cur.execute("ASK %s USING pets WITH (max_tokens = %s)", ("Mia's cat", 6))
row = cur.fetchone()
assert [d[0] for d in cur.description] == ["answer", "tokens", "finish", "sources"], cur.description
assert len(row[0]) > 0 and row[3] == "pets: icl", row
conn.commit()
for sql, cls in [("ASK 'no using'", psycopg2.errors.SyntaxError),
                 ("ASK 'x' USING nowhere", psycopg2.errors.UndefinedTable)]:
    try:
        cur.execute(sql)
        raise SystemExit("no error for " + sql)
    except cls as e:
        print("ok", type(e).__name__, e.pgcode)
    conn.rollback()
cur.execute("SELECT name FROM corpora")
print("corpora", cur.fetchall())
conn.close()
)PY");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("ok SyntaxError 42601"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ok UndefinedTable 42P01"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("corpora [('pets',)]"), std::string::npos) << r.output;
}

TEST_F(Python, Psycopg3ServerSideParametersAndErrorClasses) {
  auto r = server.python("pg3.py", R"PY(
import sys, psycopg, psycopg.errors
port = int(sys.argv[1])
with psycopg.connect(host="127.0.0.1", port=port, user="tester", dbname="x", autocommit=True) as conn:
    cur = conn.execute("ASK %s USING pets WITH (max_tokens = %s)", ("Mia's cat", 6))
    row = cur.fetchone()
    assert cur.description[0].name == "answer" and len(row[0]) > 0, row
    same = conn.execute("ASK %s USING pets WITH (max_tokens = %s)", ("Mia's cat", 6)).fetchone()
    assert same == row, (same, row)
    # A prepared statement (Parse once, Bind/Execute many).
    for q in ["Ben", "Rex", "Tom"]:
        conn.execute("ASK %s USING pets WITH (max_tokens = 2)", (q,), prepare=True).fetchone()
    for sql, cls in [("ASK 'no using'", psycopg.errors.SyntaxError),
                     ("ASK 'x' USING nowhere", psycopg.errors.UndefinedTable)]:
        try:
            conn.execute(sql)
            raise SystemExit("no error for " + sql)
        except cls as e:
            print("ok", type(e).__name__, e.sqlstate)
    print("rows", conn.execute("SELECT count(*) FROM documents").fetchone())
# Not autocommit: BEGIN / COMMIT around the statements.
with psycopg.connect(host="127.0.0.1", port=port, user="tester", dbname="x") as conn:
    conn.execute("CREATE CORPUS from_py3")
    conn.commit()
    print("tx", conn.execute("SELECT name FROM corpora ORDER BY name").fetchall())
)PY");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("ok SyntaxError 42601"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ok UndefinedTable 42P01"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("rows (2,)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("tx [('from_py3',), ('pets',)]"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace cdb::test
