// Fuzzers for what a logged-in client writes (issue 14): random SQL from a
// grammar of SQLite functions, CTEs, joins, subqueries, pragmas, ATTACH and
// extension attempts through the SELECT pass-through; and mutated statement
// text through the language parser. Each runs against a live server that
// must answer or refuse every case, stay up, and answer a correct query
// afterwards. Fixed seeds; each stops at kCases cases or kBudget, whichever
// comes first, and prints its count (CDB_FUZZ_VERBOSE=1 prints each refused
// case). Bind parameters have their own fuzzer.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "server/server_process.h"

namespace cdb::test {
namespace {

constexpr int kCases = 4000;
constexpr auto kBudget = std::chrono::seconds(60);
constexpr int kClients = 4;

struct FuzzTally {
  std::atomic<int> cases{0}, ok{0}, refused{0};
  std::mutex mu;
  std::map<std::string, int> sqlstates;
  std::vector<std::string> failures;  // lost connections, leaked paths
};

// Runs `next(rng)` statements from kClients connections until kCases or
// kBudget, each seeded from `seed`; then checks the server still answers.
void fuzz(ServerProcess& server, uint32_t seed, const std::function<std::string(std::mt19937&)>& next,
          const char* name) {
  FuzzTally t;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      std::mt19937 rng(seed + static_cast<uint32_t>(i));
      PGconn* c = PQconnectdb(server.conninfo().c_str());
      while (std::chrono::steady_clock::now() - t0 < kBudget && t.cases.fetch_add(1) < kCases) {
        const std::string sql = next(rng);
        PGresult* r = PQexec(c, sql.c_str());
        const ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK || st == PGRES_EMPTY_QUERY) {
          ++t.ok;
          // Whatever a SELECT reads, never the host's model path.
          for (int row = 0; row < PQntuples(r); ++row)
            for (int col = 0; col < PQnfields(r); ++col)
              if (std::string(PQgetvalue(r, row, col)).find("stories260K.bin") != std::string::npos) {
                std::lock_guard lock(t.mu);
                t.failures.push_back("leaked the model path: " + sql.substr(0, 300));
              }
        } else {
          ++t.refused;
          const char* code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
          std::lock_guard lock(t.mu);
          ++t.sqlstates[code ? code : "none"];
          if (std::getenv("CDB_FUZZ_VERBOSE"))
            std::printf("%s: %s\n  %s", code ? code : "-", sql.substr(0, 300).c_str(), PQresultErrorMessage(r));
          if (!code)
            t.failures.push_back(std::string("no SQLSTATE (") + PQresStatus(st) + ": " + PQerrorMessage(c) +
                                 ") after: " + sql.substr(0, 300));
        }
        PQclear(r);
        if (PQstatus(c) != CONNECTION_OK) {
          {
            std::lock_guard lock(t.mu);
            t.failures.push_back("connection lost after: " + sql.substr(0, 300));
          }
          PQfinish(c);
          c = PQconnectdb(server.conninfo().c_str());
        }
      }
      PQfinish(c);
    });
  }
  for (auto& th : clients) th.join();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const int cases = std::min(t.cases.load(), kCases);
  std::string codes;
  for (const auto& [code, n] : t.sqlstates) codes += " " + code + "x" + std::to_string(n);
  std::printf("%s: %d cases in %.1f s (%d answered, %d refused:%s)\n", name, cases, wall, t.ok.load(),
              t.refused.load(), codes.c_str());
  EXPECT_GE(cases, 1000) << "too few cases in the time budget";
  EXPECT_GT(t.ok.load(), 0);
  EXPECT_GT(t.refused.load(), 0);
  for (const auto& f : t.failures) ADD_FAILURE() << f;
  // Still serving, correctly.
  const auto rows = server.psql_rows("SELECT name FROM corpora WHERE name = 'pets'");
  EXPECT_EQ(rows.status, 0) << rows.output << server.log();
  EXPECT_EQ(rows.output, "pets\n");
  EXPECT_EQ(server.psql("SHOW MODEL").status, 0);
  EXPECT_EQ(server.stop(), 0) << server.log();
}

// ---- random SQL ----------------------------------------------------------------

class SqlGrammar {
 public:
  explicit SqlGrammar(std::mt19937& rng) : rng_(rng) {}

  std::string statement() {
    if (pick(12) == 0) return attack();
    return select(2);
  }

  // Mostly what exists, so that most cases run rather than fail to compile.
  bool usual() { return pick(4) != 0; }

 private:
  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  template <class T>
  const T& one_of(const std::vector<T>& v) {
    return v[pick(v.size())];
  }

  // Whole statements known to be dangerous somewhere.
  std::string attack() {
    static const std::vector<std::string> a = {
        "SELECT hex(fts3_tokenizer('simple'))",
        "SELECT fts3_tokenizer('simple', x'4141414141414141')",
        "SELECT token FROM fts3tokenize WHERE input = 'hello world'",
        "SELECT load_extension('/lib/x86_64-linux-gnu/libc.so.6')",
        "SELECT readfile('/etc/passwd')",
        "SELECT writefile('/tmp/cdb-fuzz', 'x')",
        "SELECT edit('x')",
        "SELECT 1; ATTACH DATABASE '/tmp/cdb-fuzz.db' AS x",
        "SELECT * FROM pragma_compile_options",
        "SELECT * FROM pragma_database_list",
        "SELECT sqlite_compileoption_get(0)",
        "SELECT * FROM sqlite_dbpage",
        "SELECT * FROM dbstat",
        "SELECT * FROM main.settings",
        "SELECT value FROM settings WHERE key LIKE '%path%'",
        "SELECT * FROM (SELECT * FROM main.settings) AS settings",
        "SELECT * FROM corpora WHERE 1 = (SELECT count(*) FROM sqlite_master)",
        "SELECT printf('%.*c', 900000000, 'x')",
        "SELECT zeroblob(1000000000)",
        "SELECT randomblob(1000000000)",
        "SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c)",
        "SELECT " + std::string(5000, '(') + "1" + std::string(5000, ')'),
        "SELECT '" + std::string(3 << 20, 'x') + "'",
        "SELECT 1 " + std::string(200, ',') + " 2",
    };
    return one_of(a);
  }

  std::string table() {
    if (usual()) return one_of<std::string>({"corpora", "documents", "jobs", "cartridges", "tokenized_corpora"});
    static const std::vector<std::string> t = {
        "corpora", "documents", "jobs", "cartridges", "settings", "pins", "corpus_versions", "cartridge_tensors",
        "tokenized_corpora", "temp.corpora", "main.corpora", "main.documents", "sqlite_master", "sqlite_temp_master",
        "artifacts", "schema_migrations", "blob_references", "fts3tokenize", "json_each('[1,2,3]')",
        "pragma_table_info('corpora')", "generate_series(1, 10)", "nosuch"};
    return one_of(t);
  }

  // A column of the innermost FROM (pool_), mostly; now and then any name.
  std::string column() {
    if (pick(20) != 0) return pool_.empty() ? "1" : one_of(pool_);
    static const std::vector<std::string> c = {"id", "name", "corpus_id", "state", "options", "blob_key", "value",
                                               "key", "x", "rowid", "*"};
    return one_of(c);
  }

  std::string literal() {
    static const std::vector<std::string> l = {
        "1", "0", "-1", "9223372036854775807", "-9223372036854775808", "1e308", "0.5", "'x'", "''", "NULL", "x'41'",
        "'{\"a\": [1, 2]}'", "'%'", "'" + std::string(1000, 'y') + "'", "99999999999999999999999999"};
    return one_of(l);
  }

  std::string function(int depth) {
    static const std::vector<std::pair<std::string, int>> harmless = {
        {"abs", 1}, {"hex", 1}, {"upper", 1}, {"length", 1}, {"substr", 3}, {"replace", 3}, {"instr", 2},
        {"coalesce", 2}, {"ifnull", 2}, {"quote", 1}, {"typeof", 1}, {"round", 1}, {"json_array", 2},
        {"json_valid", 1}, {"count", 1}, {"max", 1}, {"group_concat", 1}, {"date", 1}};
    static const std::vector<std::pair<std::string, int>> f = {
        {"abs", 1}, {"hex", 1}, {"upper", 1}, {"length", 1}, {"substr", 3}, {"replace", 3}, {"instr", 2},
        {"coalesce", 2}, {"ifnull", 2}, {"iif", 3}, {"quote", 1}, {"typeof", 1}, {"unicode", 1}, {"char", 3},
        {"round", 2}, {"trim", 1}, {"json", 1}, {"json_extract", 2}, {"json_array", 3}, {"json_object", 2},
        {"json_valid", 1}, {"date", 1}, {"strftime", 2}, {"julianday", 1}, {"count", 1}, {"sum", 1}, {"max", 1},
        {"group_concat", 2}, {"json_group_array", 1}, {"sqrt", 1}, {"pow", 2}, {"random", 0}, {"printf", 3},
        {"format", 2}, {"zeroblob", 1}, {"randomblob", 1}, {"fts3_tokenizer", 2}, {"load_extension", 1},
        {"readfile", 1}, {"sqlite_offset", 1}, {"cdb_visible", 1}, {"last_insert_rowid", 0}, {"changes", 0},
        {"snippet", 1}, {"matchinfo", 1}, {"sqlite_version", 0}, {"unhex", 1}, {"nosuch", 1}};
    const auto& [name, arity] = usual() ? one_of(harmless) : one_of(f);
    std::string out = name + "(";
    for (int i = 0; i < arity; ++i) out += (i ? ", " : "") + expr(depth - 1);
    return out + ")";
  }

  std::string expr(int depth) {
    const size_t k = depth <= 0 ? pick(2) : pick(9);
    switch (k) {
      case 0: return literal();
      case 1: {
        const std::string c = column();
        return c == "*" ? "1" : c;
      }
      case 2: return function(depth);
      case 3: {
        static const std::vector<std::string> ops = {"+", "-", "*", "/", "%", "||", "=", "<", "AND", "OR",
                                                     "LIKE", "GLOB", "->", "->>", "IS", "<<"};
        return "(" + expr(depth - 1) + " " + one_of(ops) + " " + expr(depth - 1) + ")";
      }
      case 4: return "CASE WHEN " + expr(depth - 1) + " THEN " + expr(depth - 1) + " ELSE " + expr(depth - 1) + " END";
      case 5: return "(SELECT count(*) FROM (" + select(depth - 1) + "))";
      case 6: return "CAST(" + expr(depth - 1) + " AS " + one_of<std::string>({"TEXT", "INTEGER", "BLOB", "REAL"}) + ")";
      case 7: return "EXISTS (" + select(depth - 1) + ")";
      default: return expr(depth - 1) + " IN (" + literal() + ", " + literal() + ")";
    }
  }

  std::string cte() {
    // Mostly bounded; now and then one that never ends (the server's
    // statement timeout or the instruction limit stops it).
    const std::string bound = pick(1000) == 0 ? "" : " WHERE x < " + std::to_string(1 + pick(20000));
    return "(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c" + bound + ") SELECT x FROM c)";
  }

  // A FROM clause; sets pool_ to the columns it offers.
  std::string from(int depth) {
    switch (pick(5)) {
      case 0: {
        const std::string a = table(), b = table();
        pool_ = {"a.id", "b.id"};
        return a + " AS a JOIN " + b + " AS b ON " + expr(depth - 1);
      }
      case 1: {
        const std::string sub = select(depth - 1);
        pool_ = {};
        return "(" + sub + ") AS s";
      }
      case 2:
        pool_ = {"r.x"};
        return cte() + " AS r";
      case 3:
        pool_ = {};
        return table() + ", " + table();
      default:
        pool_ = {"id"};
        return table();
    }
  }

  std::string select(int depth) {
    const std::vector<std::string> outer = pool_;
    std::string f;
    pool_ = {};
    if (pick(6) != 0) f = " FROM " + from(depth);
    std::string s = "SELECT ";
    if (pick(6) == 0) s += "DISTINCT ";
    const size_t n = 1 + pick(3);
    for (size_t i = 0; i < n; ++i) s += (i ? ", " : "") + (pick(4) == 0 ? column() : expr(depth));
    s += f;
    if (pick(2) == 0) s += " WHERE " + expr(depth);
    if (pick(5) == 0) s += " GROUP BY 1";
    if (pick(4) == 0) s += " ORDER BY 1" + std::string(pick(2) ? " DESC" : "");
    if (pick(3) == 0) s += " LIMIT " + std::to_string(pick(1000));
    pool_ = outer;
    return s;
  }

  std::vector<std::string> pool_;
  std::mt19937& rng_;
};

TEST(StatementFuzz, RandomSqlThroughTheSelectPassThrough) {
  ServerProcess server({"--auth", "trust", "--statement-timeout", "0.5"});
  ASSERT_EQ(server.psql(kSetupPets).status, 0);
  fuzz(server, 2026, [](std::mt19937& rng) { return SqlGrammar(rng).statement(); }, "random SQL");
}

// ---- mutated statements -----------------------------------------------------------

// Valid statements that neither change the pets corpus nor run the model
// (mutations of them cannot either: "nowhere" names no corpus, and the
// corpus they may create is named otherwise). No BEGIN: a failed block
// would refuse everything after it.
const std::vector<std::string>& statement_templates() {
  static const std::vector<std::string> t = {
      "SHOW CORPORA",
      "SHOW DOCUMENTS IN pets",
      "SHOW CARTRIDGES FOR pets",
      "SHOW JOBS",
      "SHOW CACHE",
      "EXPLAIN ASK 'Who has a cat?' USING pets WITH (max_tokens = 5, temperature = 0.5, mode = 'icl')",
      "ASK 'x' USING nowhere WITH (max_tokens = 1)",
      "SET max_tokens = 12",
      "SET temperature = 0.7",
      "SET mode = 'auto'",
      "CREATE CORPUS fuzz_made WITH (description = 'd', auto_train = false, cartridge_tokens = 64)",
      "ADD DOCUMENT 'text' AS 'a.txt' TO nowhere",
      "REMOVE DOCUMENT 'a.txt' FROM nowhere",
      "DROP CORPUS nowhere",
      "TRAIN CARTRIDGE FOR nowhere WITH (steps = 1, lr = 3e-05) WAIT",
      "WAIT JOB 999999",
      "CANCEL JOB 999999",
      "PIN CARTRIDGE FOR nowhere",
      "UNPIN CARTRIDGE FOR nowhere",
      "SELECT name FROM corpora WHERE name = 'pets'",
  };
  return t;
}

std::string mutate_statement(std::string s, std::mt19937& rng) {
  auto pos = [&](size_t n) { return n == 0 ? size_t{0} : std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  const int rounds = 1 + static_cast<int>(rng() % 3);
  for (int r = 0; r < rounds; ++r) {
    switch (rng() % 9) {
      case 0:  // truncate
        s.resize(pos(s.size() + 1));
        break;
      case 1:  // flip bits
        for (int i = 0; i < 3 && !s.empty(); ++i) s[pos(s.size())] ^= static_cast<char>(1 << (rng() % 8));
        break;
      case 2: {  // a huge number in place of a digit
        const size_t d = s.find_first_of("0123456789");
        const std::string big(1 + rng() % 100000, static_cast<char>('1' + rng() % 9));
        if (d != std::string::npos) s.replace(d, 1, big);
        else s += " " + big;
        break;
      }
      case 3: {  // deep nesting
        const size_t n = 1 + rng() % 20000;
        const char* open[] = {"(", "((", "'", "[", "WITH (", "\""};
        std::string o;
        for (size_t i = 0; i < n; ++i) o += open[rng() % 6];
        s.insert(pos(s.size() + 1), o);
        break;
      }
      case 4: {  // a long identifier
        const std::string id(1 + rng() % 200000, static_cast<char>('a' + rng() % 26));
        const size_t at = s.rfind(' ');
        s.insert(at == std::string::npos ? s.size() : at + 1, id);
        break;
      }
      case 5: {  // random bytes, NUL and invalid UTF-8 included
        std::string junk(1 + rng() % 12, '\0');
        for (auto& c : junk) c = static_cast<char>(rng());
        s.insert(pos(s.size() + 1), junk);
        break;
      }
      case 6:  // a piece of another statement
        s += " " + statement_templates()[rng() % statement_templates().size()].substr(0, 1 + rng() % 30);
        break;
      case 7: {  // duplicate a span
        if (s.empty()) break;
        const size_t a = pos(s.size()), n = 1 + pos(std::min<size_t>(s.size() - a, 40));
        s.insert(a, s.substr(a, n));
        break;
      }
      default: {  // odd tokens
        static const std::vector<std::string> tok = {";", "--", "$1", "$99999999999", "'", "\"", "e", "1e999999",
                                                     "-", ".", "WITH", "USING", "=", ",", ")", "\n", "\xc3",
                                                     "\xf0\x9f\x98\x80"};
        s.insert(pos(s.size() + 1), tok[rng() % tok.size()]);
      }
    }
  }
  // libpq sends a C string; a NUL would only cut it short.
  for (auto& c : s)
    if (c == '\0') c = ' ';
  return s;
}

TEST(StatementFuzz, MutatedStatementsThroughTheLanguageParser) {
  ServerProcess server({"--auth", "trust", "--statement-timeout", "2"});
  ASSERT_EQ(server.psql(kSetupPets).status, 0);
  fuzz(server, 14, [](std::mt19937& rng) {
    const auto& t = statement_templates();
    return mutate_statement(t[rng() % t.size()], rng);
  }, "mutated statements");
}

}  // namespace
}  // namespace cdb::test
