// Random parameters through Parse / Bind / Describe / Execute on a live
// server: declared types (unknown OIDs included), text and binary formats,
// NULLs, values of the wrong length or shape, lengths that lie, counts
// that do not match. Every frame is well formed, so every case must end
// in ReadyForQuery on the same connection (errors are ERRORs, not FATALs),
// and the server must answer a correct query afterwards and exit cleanly.
// Fixed seed; a few thousand cases or 60 s, whichever comes first. Longer
// local runs: CDB_FUZZ_CASES, CDB_FUZZ_SECONDS, CDB_FUZZ_SEED.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>

#include "server/server_process.h"
#include "server/wire_client.h"

namespace cdb::test {
namespace {

// Statements whose parameters reach the substitution and the engine
// without running the model or changing the data.
const char* const kStatements[] = {
    "SHOW CORPORA",
    "SET max_tokens = $1",
    "SET temperature = $1",
    "ASK $1 USING nowhere WITH (max_tokens = $2, temperature = $3)",
    "ADD DOCUMENT $1 TO nowhere",
    "SELECT name FROM corpora WHERE name = $1",
    "SELECT $1, $2, $3",
    "$1",
    "",
    "BEGIN",
    "ROLLBACK",
    "SHOW CORPORA; SHOW MODEL",
};

class BindFuzzer {
 public:
  explicit BindFuzzer(uint32_t seed) : rng_(seed) {}

  // One case: Parse, Bind, maybe Describe, Execute, Sync.
  std::string next_case() {
    const std::string sql = kStatements[pick(std::size(kStatements))];
    const size_t uses = static_cast<size_t>(std::count(sql.begin(), sql.end(), '$'));
    std::string parse = z("") + z(sql);
    const size_t declared = chance(5) ? pick(5) : pick(uses + 1);
    parse += be16(static_cast<uint16_t>(declared));
    for (size_t i = 0; i < declared; ++i) parse += be32(oid());
    std::string out = message('P', parse);
    if (chance(10)) out += message('D', "S" + z(""));
    out += message('B', bind_body(uses));
    if (chance(2)) out += message('D', "P" + z(""));
    out += message('E', z("") + be32(static_cast<uint32_t>(pick(3))));
    return out + message('S', "");
  }

 private:
  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool chance(size_t one_in) { return pick(one_in) == 0; }
  static std::string z(const std::string& s) { return s + '\0'; }

  uint32_t oid() {
    static const uint32_t known[] = {0, 16, 17, 18, 19, 20, 21, 23, 25, 26, 114, 700, 701, 1042, 1043, 1700, 2950, 3802};
    return chance(8) ? static_cast<uint32_t>(rng_()) : known[pick(std::size(known))];
  }

  std::string value() {
    switch (pick(9)) {
      case 0: return "";
      case 1: return std::to_string(static_cast<int64_t>(rng_()) - (1ll << 31));  // an integer
      case 2: {  // long digits, below what recursed through std::regex (issue 14, defect 2)
        std::string d(1 + pick(900), '9');
        for (auto& c : d) c = static_cast<char>('0' + pick(10));
        return (chance(4) ? "-" : "") + d;
      }
      case 3: return chance(2) ? "true" : "FALSE";
      case 4: {
        static const char* const odd[] = {"1e308", "-0.5", "NaN", "inf", "0x10", "1.2.3", "+", "--1", " 7 "};
        return odd[pick(std::size(odd))];
      }
      case 5: {  // binary-sized values, right and wrong
        std::string b(std::string::size_type{1} << pick(4), '\0');
        for (auto& c : b) c = static_cast<char>(rng_());
        if (chance(3)) b.pop_back();
        return b;
      }
      case 6: return "it's \"quoted\" $1 -- not a comment; ";
      default: {  // random bytes: NULs, invalid UTF-8
        std::string s(pick(300), '\0');
        for (auto& c : s) c = static_cast<char>(rng_());
        return s;
      }
    }
  }

  // Format codes for `count` values: mostly none, one or one each.
  std::string formats(size_t count) {
    size_t n = pick(3) == 0 ? count : pick(2);
    if (chance(15)) n = pick(12);
    std::string out = be16(static_cast<uint16_t>(n));
    for (size_t i = 0; i < n; ++i) out += be16(chance(30) ? static_cast<uint16_t>(rng_()) : static_cast<uint16_t>(pick(2)));
    return out;
  }

  // Mostly as many values as the statement uses, so most cases reach the
  // substitution and the engine rather than stopping at a count.
  std::string bind_body(size_t uses) {
    const size_t params = chance(8) ? pick(6) : uses;
    std::string b = z("") + z("");
    b += formats(params);
    b += be16(static_cast<uint16_t>(chance(40) ? 0xffff - pick(3) : params));  // sometimes a negative count
    for (size_t i = 0; i < params; ++i) {
      if (chance(6)) {
        b += be32(0xffffffffu);  // NULL
        continue;
      }
      const std::string v = value();
      uint32_t len = static_cast<uint32_t>(v.size());
      if (chance(40)) len = std::vector<uint32_t>{0x7fffffffu, 0xfffffffeu, 0x80000000u, len + 1, len + 1000}[pick(5)];
      b += be32(len) + v;
    }
    // Result formats, against whatever column count the statement has.
    b += formats(chance(3) ? 9 : pick(4));  // SHOW CORPORA has 9 columns
    if (chance(50)) b += "trailing";
    return b;
  }

  std::mt19937 rng_;
};

// The environment variable `name` as a number, or `otherwise`.
long env_or(const char* name, long otherwise) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtol(v, nullptr, 10) : otherwise;
}

TEST(BindFuzz, RandomParametersNeverCrashOrDropTheConnection) {
  ServerProcess server;
  ASSERT_EQ(server.psql(kSetupPets).status, 0);
  const long max_cases = env_or("CDB_FUZZ_CASES", 5000);
  const auto start = std::chrono::steady_clock::now();
  const auto stop_at = start + std::chrono::seconds(env_or("CDB_FUZZ_SECONDS", 60));
  BindFuzzer fuzzer(static_cast<uint32_t>(env_or("CDB_FUZZ_SEED", 20261203)));
  int cases = 0, errors = 0;
  std::map<std::string, int> codes;  // SQLSTATE of each error, to see what the cases reached
  WireClient c(server.port());
  ASSERT_EQ(types_of(c.startup()).back(), 'Z');
  for (; cases < max_cases && std::chrono::steady_clock::now() < stop_at; ++cases) {
    const std::string sent = fuzzer.next_case();
    ASSERT_TRUE(c.send(sent)) << "case " << cases << ": the server closed the connection\n" << server.log();
    const auto ms = c.until_ready(std::chrono::seconds(30));
    ASSERT_FALSE(ms.empty()) << "case " << cases << ": no answer\n" << server.log();
    ASSERT_EQ(ms.back().type, 'Z') << "case " << cases << ": " << types_of(ms) << "\n" << server.log();
    for (const auto& m : ms) {
      if (m.type != 'E') continue;
      ++errors;
      ++codes[sqlstate_of(m)];
      ASSERT_EQ(m.body.find(std::string("SFATAL") + '\0'), std::string::npos) << "case " << cases << ": " << m.body;
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("bind fuzzer: %d cases (%d errors) in %.1f s; errors by SQLSTATE:", cases, errors, seconds);
  for (const auto& [code, n] : codes) std::printf(" %s %d", code.c_str(), n);
  std::printf("\n");
  EXPECT_GE(cases, 500);  // even a loaded machine gets through this many

  const auto r = server.psql_rows("SHOW CORPORA");
  ASSERT_EQ(r.status, 0) << r.output << server.log();
  EXPECT_NE(r.output.find("pets"), std::string::npos) << r.output;
  EXPECT_EQ(server.stop(), 0) << server.log();
}

}  // namespace
}  // namespace cdb::test
