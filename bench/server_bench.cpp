// server_bench: the protocol's overhead. The same ASKs from N concurrent
// clients, once through `cartridge serve`'s Server over loopback (libpq,
// PQexecParams: the extended protocol, as drivers use it) and once through
// the embedded API from N threads; p50 / p99 latency and requests per
// second for both. The server runs in this process on a free port with
// trust auth; the data directory is a temp directory with one small
// corpus (answers by ICL on stories260K). The last stdout line is JSON.
// --http: also the same ASKs over the OpenAI-compatible HTTP API
// (POST /v1/completions on keep-alive connections, HttpServer in this
// process), and GET /v1/models, a protocol-only request, as fast as the
// clients can send it.
#include <cxxopts.hpp>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cartridgedb/cartridgedb.h"
#include "common/command_line.h"
#include "common/models_dir.h"
#include "http/http_server.h"
#include "server/server.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Stats {
  double p50_ms = 0, p99_ms = 0, mean_ms = 0, requests_per_s = 0;
  size_t requests = 0;
};

Stats summarize(std::vector<double> ms, double wall_s) {
  Stats s;
  std::sort(ms.begin(), ms.end());
  s.requests = ms.size();
  if (ms.empty()) return s;
  auto pct = [&](double p) { return ms[std::min(ms.size() - 1, static_cast<size_t>(p * (ms.size() - 1) + 0.5))]; };
  s.p50_ms = pct(0.50);
  s.p99_ms = pct(0.99);
  double sum = 0;
  for (double x : ms) sum += x;
  s.mean_ms = sum / ms.size();
  s.requests_per_s = ms.size() / wall_s;
  return s;
}

// Runs `one(client, i)` `requests` times on each of `clients` threads;
// returns each call's latency in ms and the wall time.
std::pair<std::vector<double>, double> drive(int clients, int requests,
                                             const std::function<void(int, int)>& one) {
  std::vector<std::vector<double>> lat(clients);
  std::vector<std::thread> threads;
  const auto t0 = Clock::now();
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      for (int i = 0; i < requests; ++i) {
        const auto s = Clock::now();
        one(c, i);
        lat[c].push_back(std::chrono::duration<double, std::milli>(Clock::now() - s).count());
      }
    });
  for (auto& t : threads) t.join();
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  return {all, wall};
}

nlohmann::json to_json(const Stats& s) {
  return {{"requests", s.requests}, {"p50_ms", s.p50_ms}, {"p99_ms", s.p99_ms}, {"mean_ms", s.mean_ms},
          {"requests_per_s", s.requests_per_s}};
}

// One keep-alive HTTP/1.1 connection: a request, then its Content-Length
// body. Enough for the server's own answers (never chunked unless streamed).
class KeepAlive {
 public:
  explicit KeepAlive(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("connect failed");
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~KeepAlive() { ::close(fd_); }
  // The status code; the body in `body`.
  int call(const std::string& request, std::string& body) {
    for (size_t done = 0; done < request.size();) {
      const ssize_t n = ::send(fd_, request.data() + done, request.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return 0;
      done += static_cast<size_t>(n);
    }
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!fill()) return 0;
    const size_t cl = buf_.find("Content-Length: ");
    const size_t length = cl < end ? std::stoul(buf_.substr(cl + 16)) : 0;
    while (buf_.size() < end + 4 + length)
      if (!fill()) return 0;
    const int status = std::atoi(buf_.c_str() + 9);
    body = buf_.substr(end + 4, length);
    buf_.erase(0, end + 4 + length);
    return status;
  }

 private:
  bool fill() {
    char b[16384];
    const ssize_t n = ::recv(fd_, b, sizeof b, 0);
    if (n <= 0) return false;
    buf_.append(b, static_cast<size_t>(n));
    return true;
  }
  int fd_;
  std::string buf_;
};

std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string a;
  f >> a;
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options opts("server_bench", "ASK round trips over the PostgreSQL protocol vs the embedded API");
  opts.add_options()
      ("clients", "concurrent clients", cxxopts::value<int>()->default_value("8"))
      ("requests", "ASKs per client", cxxopts::value<int>()->default_value("25"))
      ("max-tokens", "answer tokens per ASK", cxxopts::value<int>()->default_value("4"))
      ("statement", "also time this statement instead of ASK (e.g. 'SHOW MODEL')", cxxopts::value<std::string>()->default_value(""))
      ("http", "also over the HTTP API (POST /v1/completions), and GET /v1/models req/s")
      ("http-requests", "GET /v1/models per client with --http", cxxopts::value<int>()->default_value("5000"))
      ("json", "print only the JSON line")
      ("h,help", "this help");
  cxxopts::ParseResult args;
  if (auto status = cdb::parse_command_line(opts, argc, argv, args)) return *status;
  const int clients = args["clients"].as<int>(), requests = args["requests"].as<int>();
  const int max_tokens = args["max-tokens"].as<int>();
  const bool quiet = args.count("json") > 0;

  const auto dir = std::filesystem::temp_directory_path() / ("cdb-server-bench-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  nlohmann::json out;
  {
    cartridgedb::OpenOptions o;
    o.model_path = cdb::model_file("stories260K/stories260K.bin").string();
    o.tokenizer_path = cdb::model_file("stories260K/tok512.bin").string();
    auto db = cartridgedb::Database::open(dir.string(), o);
    db->execute_script(
        "CREATE CORPUS pets; ADD DOCUMENT 'Mia has a cat named Tom. Tom likes to sleep in the sun.' TO pets;"
        "ADD DOCUMENT 'Ben has a dog named Rex. Rex runs in the park every day.' TO pets;");
    const std::string fixed = args["statement"].as<std::string>();
    const std::string sql = fixed.empty() ? "ASK $1 USING pets WITH (max_tokens = " + std::to_string(max_tokens) + ")"
                                          : fixed;
    auto question = [](int c, int i) { return "Question " + std::to_string(c) + " of client " + std::to_string(i); };

    // Embedded: the same statement text the server would execute.
    auto embedded_sql = [&](int c, int i) {
      if (!fixed.empty()) return fixed;
      return "ASK '" + question(c, i) + "' USING pets WITH (max_tokens = " + std::to_string(max_tokens) + ")";
    };
    drive(1, 2, [&](int c, int i) { db->execute(embedded_sql(c, i)); });  // warm up
    auto [emb_ms, emb_wall] = drive(clients, requests, [&](int c, int i) { db->execute(embedded_sql(c, i)); });
    const Stats embedded = summarize(emb_ms, emb_wall);

    cdb::server::ServerOptions so;
    so.port = 0;
    so.auth = cdb::server::AuthMethod::Trust;
    cdb::server::Server server(*db, so);
    std::thread runner([&] { server.run(); });
    const std::string conninfo = "host=127.0.0.1 port=" + std::to_string(server.port()) + " user=bench dbname=x";
    std::vector<PGconn*> conns(clients);
    for (auto& c : conns) {
      c = PQconnectdb(conninfo.c_str());
      if (PQstatus(c) != CONNECTION_OK) {
        std::fprintf(stderr, "server_bench: %s\n", PQerrorMessage(c));
        return 1;
      }
    }
    size_t errors = 0;
    auto over_wire = [&](int c, int i) {
      const std::string q = question(c, i);
      const char* values[] = {q.c_str()};
      PGresult* r = PQexecParams(conns[c], sql.c_str(), fixed.empty() ? 1 : 0, nullptr, values, nullptr, nullptr, 0);
      if (PQresultStatus(r) != PGRES_TUPLES_OK) ++errors;
      PQclear(r);
    };
    drive(1, 2, over_wire);
    auto [srv_ms, srv_wall] = drive(clients, requests, over_wire);
    const Stats wire = summarize(srv_ms, srv_wall);
    for (auto* c : conns) PQfinish(c);

    // Over HTTP: the same questions, and /v1/models; vs SHOW MODEL over the wire.
    std::optional<Stats> http_ask, http_models, wire_show_model;
    if (args.count("http")) {
      cdb::http::HttpOptions ho;
      ho.port = 0;
      ho.trust = true;
      cdb::http::HttpServer web(*db, ho);
      web.start();
      std::vector<std::unique_ptr<KeepAlive>> keep;
      for (int c = 0; c < clients; ++c) keep.push_back(std::make_unique<KeepAlive>(web.port()));
      auto post = [](const std::string& path, const std::string& body) {
        return "POST " + path + " HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\n\r\n" + body;
      };
      auto over_http = [&](int c, int i) {
        const nlohmann::json body = {{"prompt", question(c, i)}, {"corpora", {"pets"}}, {"max_tokens", max_tokens}};
        std::string answer;
        if (keep[c]->call(post("/v1/completions", body.dump()), answer) != 200) ++errors;
      };
      drive(1, 2, over_http);
      auto [h_ms, h_wall] = drive(clients, requests, over_http);
      http_ask = summarize(h_ms, h_wall);
      const std::string models = "GET /v1/models HTTP/1.1\r\nHost: bench\r\n\r\n";
      const int model_requests = args["http-requests"].as<int>();
      auto [m_ms, m_wall] = drive(clients, model_requests, [&](int c, int) {
        std::string answer;
        if (keep[c]->call(models, answer) != 200) ++errors;
      });
      http_models = summarize(m_ms, m_wall);
      keep.clear();
      web.stop();
      // SHOW MODEL over the PostgreSQL protocol, for the protocol-only comparison.
      std::vector<PGconn*> show(clients);
      for (auto& c : show) c = PQconnectdb(conninfo.c_str());
      auto [s_ms, s_wall] = drive(clients, std::max(1, model_requests / 5), [&](int c, int) {
        PGresult* r = PQexecParams(show[c], "SHOW MODEL", 0, nullptr, nullptr, nullptr, nullptr, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) ++errors;
        PQclear(r);
      });
      wire_show_model = summarize(s_ms, s_wall);
      for (auto* c : show) PQfinish(c);
    }
    server.stop();
    runner.join();

    out = {{"bench", "server"},
           {"statement", fixed.empty() ? "ASK (max_tokens = " + std::to_string(max_tokens) + ")" : fixed},
           {"clients", clients},
           {"requests_per_client", requests},
           {"errors", errors},
           {"embedded", to_json(embedded)},
           {"server", to_json(wire)},
           {"overhead_p50_ms", wire.p50_ms - embedded.p50_ms},
           {"throughput_ratio", embedded.requests_per_s > 0 ? wire.requests_per_s / embedded.requests_per_s : 0},
           {"load_average", load_average()}};
    if (http_ask) {
      out["http"] = to_json(*http_ask);
      out["http_overhead_vs_server_p50_ms"] = http_ask->p50_ms - wire.p50_ms;
      out["http_throughput_ratio_vs_server"] = wire.requests_per_s > 0 ? http_ask->requests_per_s / wire.requests_per_s : 0;
      out["http_models"] = to_json(*http_models);
      out["server_show_model"] = to_json(*wire_show_model);
    }
    if (!quiet) {
      std::printf("%-10s %8s %8s %8s %10s\n", "path", "p50 ms", "p99 ms", "mean ms", "req/s");
      std::printf("%-10s %8.2f %8.2f %8.2f %10.1f\n", "embedded", embedded.p50_ms, embedded.p99_ms, embedded.mean_ms,
                  embedded.requests_per_s);
      std::printf("%-10s %8.2f %8.2f %8.2f %10.1f\n", "server", wire.p50_ms, wire.p99_ms, wire.mean_ms,
                  wire.requests_per_s);
      if (http_ask) {
        std::printf("%-10s %8.2f %8.2f %8.2f %10.1f\n", "http", http_ask->p50_ms, http_ask->p99_ms, http_ask->mean_ms,
                    http_ask->requests_per_s);
        std::printf("%-10s %8.3f %8.3f %8.3f %10.1f   (GET /v1/models, keep-alive)\n", "http-model", http_models->p50_ms,
                    http_models->p99_ms, http_models->mean_ms, http_models->requests_per_s);
        std::printf("%-10s %8.3f %8.3f %8.3f %10.1f   (SHOW MODEL, extended protocol)\n", "pg-model",
                    wire_show_model->p50_ms, wire_show_model->p99_ms, wire_show_model->mean_ms,
                    wire_show_model->requests_per_s);
      }
    }
  }
  std::filesystem::remove_all(dir);
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
