// The SELECT pass-through's cost on each catalog engine: the same catalog
// (`--corpora` corpora, `--rows` documents and as many jobs, spread over
// them) in a SQLite file and in a PostgreSQL database, and the time of a
// few SELECTs on each, as the Executor runs them (one reader, reused). On
// PostgreSQL every statement copies the tables it reads first
// (src/storage/pg_catalog_reader.h), so the cost grows with them.
//
//   build/bin/select_pass_through_bench --postgresql postgresql://user@host/emptydb [--rows 10000] [--json]
#include <unistd.h>
#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "storage/catalog.h"
#include "storage/catalog_location.h"
#include "storage/select_pass_through.h"
#include "storage/sql_statement.h"

using namespace cdb;

namespace {

void fill(Catalog& c, int corpora, int rows) {
  Catalog::Transaction tx(c);
  for (int i = 0; i < corpora; ++i) c.create_corpus("corpus-" + std::to_string(i));
  for (int i = 0; i < rows; ++i) {
    Statement doc(c.db(),
                  "INSERT INTO documents (corpus_id, name, content_hash, bytes, blob_key) VALUES (?, ?, ?, ?, ?)");
    Statement job(c.db(),
                  "INSERT INTO jobs (kind, corpus_id, state, progress, params) VALUES ('train', ?, 'done', 1, ?)");
    char hash[33];
    std::snprintf(hash, sizeof hash, "%032x", i);
    doc.bind_all(int64_t{1 + i % corpora}, "doc-" + std::to_string(i), std::string(hash), int64_t{1000 + i},
                 "doc/" + std::to_string(i))
        .run();
    job.bind_all(int64_t{1 + i % corpora}, std::string(R"({"steps": 100})")).run();
  }
  tx.commit();
}

double median_ms(SelectPassThrough& r, const std::string& sql, const CorpusVisibility& v, int runs) {
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    r.run(sql, v);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options cli("select_pass_through_bench", "a SELECT's time on a SQLite and on a PostgreSQL catalog");
  cli.add_options()("json", "print only the JSON result line")("postgresql", "an empty PostgreSQL database's URL",
                                                               cxxopts::value<std::string>())(
      "corpora", "corpora", cxxopts::value<int>()->default_value("10"))("rows", "documents, and as many jobs",
                                                                        cxxopts::value<int>()->default_value("10000"))(
      "runs", "runs per statement (the median is shown)", cxxopts::value<int>()->default_value("20"))("h,help", "help");
  const auto args = cli.parse(argc, argv);
  if (args.count("help") || !args.count("postgresql")) {
    std::printf("%s\n", cli.help().c_str());
    return args.count("help") ? 0 : 2;
  }
  const int corpora = args["corpora"].as<int>(), rows = args["rows"].as<int>(), runs = args["runs"].as<int>();
  const auto dir = std::filesystem::temp_directory_path() / ("select-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  nlohmann::json out = {{"corpora", corpora}, {"rows", rows}, {"runs", runs}};
  {
    Catalog sqlite(dir / "catalog.sqlite");
    Catalog pg(open_catalog_connection(args["postgresql"].as<std::string>(), false));
    fill(sqlite, corpora, rows);
    fill(pg, corpora, rows);
    auto on_sqlite = open_select_pass_through(sqlite);
    auto on_pg = open_select_pass_through(pg);
    const CorpusVisibility half = [corpora](int64_t id) { return id <= corpora / 2; };
    struct Query {
      const char* name;
      const char* sql;
      bool user;
    };
    for (const Query& q :
         {Query{"corpora", "SELECT count(*) FROM corpora", false},
          Query{"documents", "SELECT count(*), sum(bytes) FROM documents", false},
          Query{"join", "SELECT c.name, count(*) FROM corpora c JOIN jobs j ON j.corpus_id = c.id GROUP BY c.name",
                false},
          Query{"documents_as_user", "SELECT count(*), sum(bytes) FROM documents", true},
          Query{"no_table", "SELECT 1", false}}) {
      const CorpusVisibility v = q.user ? half : CorpusVisibility{};
      if (on_sqlite->run(q.sql, v).rows != on_pg->run(q.sql, v).rows) {
        std::fprintf(stderr, "%s: the engines disagree\n", q.name);
        return 1;
      }
      const double s = median_ms(*on_sqlite, q.sql, v, runs), p = median_ms(*on_pg, q.sql, v, runs);
      out["ms"][q.name] = {{"sqlite", s}, {"postgresql", p}};
      if (!args.count("json")) std::printf("%-18s sqlite %8.3f ms   postgresql %8.3f ms\n", q.name, s, p);
    }
  }
  std::filesystem::remove_all(dir);
  std::printf("%s\n", out.dump().c_str());
}
