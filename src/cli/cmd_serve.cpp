// cartridge serve [DATA_DIR] ...: the PostgreSQL wire protocol over one
// Database (src/server/), so that psql and Postgres drivers can ASK.
// `cartridge serve --users FILE --add-user NAME [--superuser]` reads a
// password from stdin and adds a SCRAM-SHA-256 entry to the users file
// instead; `--set-quota NAME key=value` sets one of a user's quotas;
// `--add-api-key NAME` prints a new HTTP API key for a listed user.
// `--http HOST:PORT` adds the OpenAI-compatible HTTP API (src/http/) on the
// same Database.
#include <cstdlib>
#include <cxxopts.hpp>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cartridgedb/cartridgedb.h"
#include "cli/blob_flags.h"
#include "cli/commands.h"
#include "common/command_line.h"
#include "engine/cpu_runtime.h"
#include "http/engine_metrics.h"
#include "http/http_server.h"
#include "server/cluster_secret.h"
#include "server/server.h"
#include "server/users.h"
#include "storage/pg_catalog_url.h"

namespace cdb::cli {
namespace {

// "HOST:PORT", ":PORT", "PORT" or "HOST" (port 5433). HOST is an IPv4
// address, a host name (resolved by the server), an IPv6 address in
// brackets ("[::1]:5433", "[::1]") or a bare IPv6 address ("::1", no port).
void parse_listen(const std::string& text, server::ServerOptions& o) {
  auto bad = [&](const std::string& why) { return std::invalid_argument("--listen '" + text + "': " + why); };
  std::string host, port;
  if (!text.empty() && text[0] == '[') {
    const size_t close = text.find(']');
    if (close == std::string::npos) throw bad("no ']' after the IPv6 address");
    host = text.substr(1, close - 1);
    if (host.empty()) throw bad("empty IPv6 address");
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') throw bad("expected ':PORT' after ']'");
      port = text.substr(close + 2);
      if (port.empty()) throw bad("empty port");
    }
  } else if (std::count(text.begin(), text.end(), ':') > 1) {
    host = text;  // a bare IPv6 address: its last group is no port
  } else if (const size_t colon = text.find(':'); colon != std::string::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (port.empty()) throw bad("empty port");
  } else if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
    port = text;
  } else {
    host = text;
  }
  if (!host.empty()) o.host = host;
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) > 65535)
      throw bad("port must be a number from 0 to 65535, not '" + port + "'");
    o.port = static_cast<uint16_t>(std::stoul(port));
  }
  if (o.host.empty()) throw bad("empty host");
}

}  // namespace

int cmd_serve(int argc, char** argv) {
  cxxopts::Options opts("cartridge serve", "Serve a data directory over the PostgreSQL protocol");
  opts.positional_help("[DATA_DIR]");
  opts.add_options()
      ("dir", "data directory", cxxopts::value<std::string>()->default_value("cartridge-data"))
      ("model", "model (first open; later opens use the recorded one)", cxxopts::value<std::string>()->default_value(""))
      ("tokenizer", "tokenizer (default: recorded, or beside the model)", cxxopts::value<std::string>()->default_value(""))
      ("device", "cpu or cuda[:n]", cxxopts::value<std::string>()->default_value("cpu"))
      ("catalog", "postgresql://user@host:port/db: the catalog in PostgreSQL, shared by servers (password: PGPASSWORD "
                  "or ~/.pgpass); default $CDB_CATALOG, else DATA_DIR/catalog.sqlite",
       cxxopts::value<std::string>()->default_value(std::getenv("CDB_CATALOG") ? std::getenv("CDB_CATALOG") : ""))
      ("catalog-retries", "times a lost PostgreSQL catalog connection (a restart, a failover) is made again before "
                          "a statement fails", cxxopts::value<int>()->default_value("8"))
      ("catalog-retry-wait", "seconds before the first of those retries, doubling up to 2 s",
       cxxopts::value<double>()->default_value("0.25"))
      ("node-name", "this node's name among the servers sharing a catalog, unique: jobs are claimed under it and the "
                    "node registry lists it (SHOW NODES; docs/scale-out.md); default HOSTNAME:PORT, the port of --listen",
       cxxopts::value<std::string>()->default_value(""))
      ("heartbeat-interval", "seconds between this node's reports to the node registry; a node is alive while its last "
                             "is younger than three intervals (give every node the same)", cxxopts::value<double>()->default_value("2"))
      ("listen", "HOST:PORT, [IPV6]:PORT or a host name to listen on (port 0: any free port)", cxxopts::value<std::string>()->default_value("127.0.0.1:5433"))
      ("auth", "scram (users from --users) or trust (loopback only)", cxxopts::value<std::string>()->default_value("scram"))
      ("users", "users file (name:SCRAM-SHA-256$...:role:quotas); with --auth trust, the roles of listed users", cxxopts::value<std::string>()->default_value(""))
      ("add-user", "add or replace NAME in --users, an ordinary user, with a password read from stdin, then exit", cxxopts::value<std::string>())
      ("superuser", "with --add-user: the user is a superuser", cxxopts::value<bool>()->default_value("false"))
      ("set-quota", "NAME key=value: set a quota of NAME in --users, then exit (keys: queued_jobs, steps_per_job, "
                    "corpora, bytes_stored; value a number or unlimited)", cxxopts::value<std::string>())
      ("load-root", "directory LOAD FILE / LOAD DIRECTORY may read (superusers only); none: no server files", cxxopts::value<std::string>()->default_value(""))
      ("tls-cert", "PEM certificate chain: TLS for clients that ask (sslmode=require)", cxxopts::value<std::string>()->default_value(""))
      ("tls-key", "PEM private key", cxxopts::value<std::string>()->default_value(""))
      ("max-connections", "sessions at once", cxxopts::value<int>()->default_value("100"))
      ("max-message-size", "bytes; a longer message ends its connection", cxxopts::value<size_t>()->default_value(std::to_string(server::ServerOptions{}.max_message_bytes)))
      ("max-message-memory", "bytes all messages of 64 KiB or more may hold at once; past it they are refused (53200) (0: no limit)", cxxopts::value<size_t>()->default_value(std::to_string(server::ServerOptions{}.max_message_memory)))
      ("max-startup-connections", "connections still authenticating at once; more are refused (53300) (0: as many as --max-connections)", cxxopts::value<int>()->default_value("0"))
      ("startup-timeout", "seconds a connection may take to authenticate", cxxopts::value<double>()->default_value("10"))
      ("idle-timeout", "seconds a session may wait between messages (0: no limit)", cxxopts::value<double>()->default_value("0"))
      ("statement-timeout", "seconds a statement may run (0: no limit)", cxxopts::value<double>()->default_value("0"))
      ("shutdown-grace", "seconds running statements get on SIGTERM before they are cancelled", cxxopts::value<double>()->default_value("5"))
      ("io-threads", "threads for network I/O", cxxopts::value<int>()->default_value("2"))
      ("http", "HOST:PORT: also serve the OpenAI-compatible HTTP API there (docs/http.md)", cxxopts::value<std::string>())
      ("add-api-key", "print a new HTTP API key for NAME (a user in --users; its hash is stored there), then exit", cxxopts::value<std::string>())
      ("http-max-body-size", "bytes of an HTTP request body; more: 413", cxxopts::value<size_t>()->default_value(std::to_string(http::HttpOptions{}.max_body_bytes)))
      ("http-max-header-size", "bytes of an HTTP request's headers; more: 431", cxxopts::value<size_t>()->default_value(std::to_string(http::HttpOptions{}.max_header_bytes)))
      ("http-max-connections", "HTTP connections at once; more get 503", cxxopts::value<int>()->default_value(std::to_string(http::HttpOptions{}.max_connections)))
      ("http-max-queue", "completion choices in flight over HTTP; more get 503 with Retry-After", cxxopts::value<int>()->default_value(std::to_string(http::HttpOptions{}.max_queue)))
      ("http-max-user-requests", "completion requests in flight per user; more get 429", cxxopts::value<int>()->default_value(std::to_string(http::HttpOptions{}.max_user_requests)))
      ("http-idle-timeout", "seconds a keep-alive HTTP connection may wait for its next request, or stall a write", cxxopts::value<double>()->default_value("60"))
      ("http-header-timeout", "seconds a new HTTP connection has to send its first request (and TLS handshake)", cxxopts::value<double>()->default_value("10"))
      ("http-request-timeout", "seconds an HTTP completion may take; then 408 (0: no limit)", cxxopts::value<double>()->default_value("0"))
      ("job-lease", "seconds a node's claim on a training job lasts unrenewed; a job whose node dies moves on after it", cxxopts::value<double>()->default_value("10"))
      ("job-renew", "seconds between a running job's lease renewals (0: a third of --job-lease)", cxxopts::value<double>()->default_value("0"))
      ("route", "on: relay each ASK to the live node that should answer it (bounded part affinity; docs/scale-out.md, "
                "Routing); needs --catalog postgresql://... and --cluster-secret-file. off: answer every ASK here",
       cxxopts::value<std::string>()->default_value("off"))
      ("cluster-secret-file", "file (mode 0600) with the fleet's shared secret, the same on every node (openssl rand -hex "
                              "32): nodes log in to each other with it; without it no node login is accepted",
       cxxopts::value<std::string>()->default_value(""))
      ("route-timeout", "seconds to reach and log in to a peer before answering here", cxxopts::value<double>()->default_value("2"))
      ("route-relay-timeout", "seconds a peer may take to answer a relayed ASK before it is cancelled and answered here",
       cxxopts::value<double>()->default_value("120"))
      ("route-load-factor", "a node takes questions up to this times the fleet's mean load (ASKs in flight), then the "
                            "next in preference does", cxxopts::value<double>()->default_value("1.25"))
      ("h,help", "this help");
  add_blob_flags(opts);
  opts.parse_positional({"dir"});
  // "--set-quota NAME key=value" takes two values, which cxxopts cannot
  // express: both are taken out of argv here.
  std::vector<char*> rest(argv, argv + argc);
  std::optional<std::pair<std::string, std::string>> set_quota;
  for (size_t i = 1; i < rest.size(); ++i) {
    if (std::string(rest[i]) != "--set-quota") continue;
    if (i + 2 >= rest.size()) {
      std::fprintf(stderr, "cartridge serve: usage: --set-quota NAME key=value\n");
      return 2;
    }
    set_quota.emplace(rest[i + 1], rest[i + 2]);
    rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(i), rest.begin() + static_cast<std::ptrdiff_t>(i) + 3);
    break;
  }
  cxxopts::ParseResult args;
  if (auto status = parse_command_line(opts, static_cast<int>(rest.size()), rest.data(), args)) return *status;
  const std::string users = args["users"].as<std::string>();
  if (set_quota) {
    if (users.empty()) {
      std::fprintf(stderr, "cartridge serve: --set-quota needs --users FILE\n");
      return 2;
    }
    try {
      server::UserFile::set_quota(users, set_quota->first, set_quota->second);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "cartridge serve: %s\n", e.what());
      return 1;
    }
    std::fprintf(stderr, "cartridge serve: %s of '%s' written to %s\n", set_quota->second.c_str(),
                 set_quota->first.c_str(), users.c_str());
    return 0;
  }
  if (args.count("add-api-key")) {
    if (users.empty()) {
      std::fprintf(stderr, "cartridge serve: --add-api-key needs --users FILE\n");
      return 2;
    }
    std::string key;
    try {
      key = server::UserFile::add_api_key(users, args["add-api-key"].as<std::string>());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "cartridge serve: %s\n", e.what());
      return 1;
    }
    std::fprintf(stderr, "cartridge serve: API key of '%s' added to %s; it is shown once, below, and never again\n",
                 args["add-api-key"].as<std::string>().c_str(), users.c_str());
    std::printf("%s\n", key.c_str());
    return 0;
  }
  if (args.count("add-user")) {
    if (users.empty()) {
      std::fprintf(stderr, "cartridge serve: --add-user needs --users FILE\n");
      return 2;
    }
    std::string password;
    std::getline(std::cin, password);
    try {
      server::UserFile::set_password(users, args["add-user"].as<std::string>(), password,
                                     args["superuser"].as<bool>());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "cartridge serve: %s\n", e.what());
      return 1;
    }
    std::fprintf(stderr, "cartridge serve: %s '%s' written to %s\n",
                 args["superuser"].as<bool>() ? "superuser" : "user", args["add-user"].as<std::string>().c_str(),
                 users.c_str());
    return 0;
  }

  server::ServerOptions so;
  std::optional<cartridgedb::RouteOptions> route;
  try {
    parse_listen(args["listen"].as<std::string>(), so);
    const std::string route_flag = args["route"].as<std::string>();
    if (route_flag != "on" && route_flag != "off")
      throw std::invalid_argument("--route must be on or off, not '" + route_flag + "'");
    if (const std::string f = args["cluster-secret-file"].as<std::string>(); !f.empty())
      so.cluster_secret = server::load_cluster_secret(f);
    if (route_flag == "on") {
      if (args["catalog"].as<std::string>().empty())
        throw std::invalid_argument("--route on needs a catalog the nodes share (--catalog postgresql://...)");
      if (so.cluster_secret.empty())
        throw std::invalid_argument("--route on needs --cluster-secret-file (the same secret on every node)");
      route.emplace();
      route->cluster_secret = so.cluster_secret;
      const double connect = args["route-timeout"].as<double>(), relay = args["route-relay-timeout"].as<double>();
      const double factor = args["route-load-factor"].as<double>();
      if (!(connect >= 0.01 && connect <= 60))
        throw std::invalid_argument("--route-timeout must be from 0.01 to 60 seconds, got " + std::to_string(connect));
      if (!(relay >= 0.1 && relay <= 86400))
        throw std::invalid_argument("--route-relay-timeout must be from 0.1 to 86400 seconds, got " + std::to_string(relay));
      if (!(factor >= 1 && factor <= 100))
        throw std::invalid_argument("--route-load-factor must be from 1 to 100 (1.25: up to 25% above the mean), got " +
                                    std::to_string(factor));
      route->connect_timeout_ms = static_cast<int64_t>(connect * 1000);
      route->relay_timeout_ms = static_cast<int64_t>(relay * 1000);
      route->load_factor = factor;
    }
    // Checked here, before the model loads, so that a typo is a usage error.
    if (const std::string c = args["catalog"].as<std::string>(); !c.empty()) parse_pg_catalog_url(c);
    const std::string auth = args["auth"].as<std::string>();
    if (auth == "trust") so.auth = server::AuthMethod::Trust;
    else if (auth != "scram") throw std::invalid_argument("--auth must be scram or trust, not " + auth);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cartridge serve: %s\n", e.what());
    return 2;
  }
  auto ms = [&](const char* name) {
    return std::chrono::milliseconds(static_cast<int64_t>(args[name].as<double>() * 1000));
  };
  so.users_file = users;
  so.load_root = args["load-root"].as<std::string>();
  if (const char* log = std::getenv("CDB_LOG_STATEMENTS")) so.log_statements = std::string(log) == "1";
  so.tls_cert = args["tls-cert"].as<std::string>();
  so.tls_key = args["tls-key"].as<std::string>();
  so.max_connections = args["max-connections"].as<int>();
  so.max_message_bytes = args["max-message-size"].as<size_t>();
  so.max_message_memory = args["max-message-memory"].as<size_t>();
  so.max_startup_connections = args["max-startup-connections"].as<int>();
  so.startup_timeout = ms("startup-timeout");
  so.idle_timeout = ms("idle-timeout");
  so.statement_timeout = ms("statement-timeout");
  so.shutdown_grace = ms("shutdown-grace");
  so.io_threads = args["io-threads"].as<int>();

  std::optional<http::HttpOptions> ho;
  if (args.count("http")) {
    ho.emplace();
    try {
      server::ServerOptions where;
      where.port = ho->port;
      parse_listen(args["http"].as<std::string>(), where);
      ho->host = where.host;
      ho->port = where.port;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "cartridge serve: --http: %s\n", e.what());
      return 2;
    }
    ho->trust = so.auth == server::AuthMethod::Trust;
    ho->users_file = users;
    ho->load_root = so.load_root;
    ho->tls_cert = so.tls_cert;
    ho->tls_key = so.tls_key;
    ho->max_body_bytes = args["http-max-body-size"].as<size_t>();
    ho->max_header_bytes = args["http-max-header-size"].as<size_t>();
    ho->max_connections = args["http-max-connections"].as<int>();
    ho->max_queue = args["http-max-queue"].as<int>();
    ho->max_user_requests = args["http-max-user-requests"].as<int>();
    ho->idle_timeout = ms("http-idle-timeout");
    ho->header_timeout = ms("http-header-timeout");
    ho->request_timeout = ms("http-request-timeout");
  }

  // Before the model loads: blocks of 4 MiB or more (message bodies,
  // document texts) go back to the system when freed (cpu_runtime.h).
  cdb::keep_tensor_memory_mapped(4 << 20);

  cartridgedb::OpenOptions o;
  o.model_path = args["model"].as<std::string>();
  o.tokenizer_path = args["tokenizer"].as<std::string>();
  o.device = args["device"].as<std::string>();
  o.catalog = args["catalog"].as<std::string>();
  o.catalog_retries = args["catalog-retries"].as<int>();
  o.catalog_retry_wait_ms = static_cast<int64_t>(args["catalog-retry-wait"].as<double>() * 1000);
  if (o.catalog_retries < 0 || o.catalog_retry_wait_ms < 0) {
    std::fprintf(stderr, "cartridge serve: --catalog-retries and --catalog-retry-wait must be 0 or more\n");
    return 2;
  }
  o.node_name = args["node-name"].as<std::string>();
  if (o.node_name.empty()) {
    // HOST:PORT of --listen names a node uniquely; with port 0 (any free
    // port, known only once listening) the pid stands in for it.
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0 || !host[0]) std::snprintf(host, sizeof host, "localhost");
    o.node_name = std::string(host) + ":" + (so.port != 0 ? std::to_string(so.port) : "pid" + std::to_string(::getpid()));
  }
  o.job_lease_ms = static_cast<int64_t>(args["job-lease"].as<double>() * 1000);
  o.job_renew_ms = static_cast<int64_t>(args["job-renew"].as<double>() * 1000);
  if (o.job_lease_ms <= 0 || o.job_renew_ms < 0 || (o.job_renew_ms > 0 && o.job_renew_ms >= o.job_lease_ms)) {
    std::fprintf(stderr, "cartridge serve: --job-lease must be above 0 and --job-renew below it\n");
    return 2;
  }
  o.heartbeat_interval_ms = static_cast<int64_t>(args["heartbeat-interval"].as<double>() * 1000);
  const S3BlobsOptions blobs = blob_flags(args);
  o.blobs_url = blobs.url;
  o.s3_endpoint = blobs.s3.endpoint;
  o.s3_region = blobs.s3.region;
  o.cache_bytes = static_cast<int64_t>(blobs.cache_bytes);
  o.s3_connect_timeout_ms = blobs.s3.connect_timeout_ms;
  o.s3_request_timeout_ms = blobs.s3.request_timeout_ms;
  o.s3_retries = blobs.s3.retries;
  try {
    auto db = cartridgedb::Database::open(args["dir"].as<std::string>(), o);
    // The HTTP server owns the metrics; the PostgreSQL sessions' statements
    // are counted there too (it is made before either listener accepts).
    std::optional<http::HttpServer> web;
    if (ho)
      so.on_statement = [&web](const std::string& statement, bool ok) {
        if (web) web->metrics().count_pg_statement(statement, ok);
      };
    server::Server srv(*db, so);
    const bool v6 = so.host.find(':') != std::string::npos;
    // Known only now: with --listen port 0 the port is the one bound.
    db->join_fleet((v6 ? "[" + so.host + "]" : so.host) + ":" + std::to_string(srv.port()));
    if (route) db->enable_routing(*route);
    std::fprintf(stderr, "cartridge serve: %s on %s%s%s:%u (auth %s, TLS %s, routing %s)\n", db->dir().c_str(),
                 v6 ? "[" : "", so.host.c_str(), v6 ? "]" : "", static_cast<unsigned>(srv.port()),
                 so.auth == server::AuthMethod::Trust ? "trust" : "scram-sha-256", so.tls_cert.empty() ? "off" : "on",
                 route ? "on" : "off");
    if (ho) {
      web.emplace(*db, *ho, [&db] { return http::sample_engine(*db); });
      const bool v6web = ho->host.find(':') != std::string::npos;
      std::fprintf(stderr, "cartridge serve: http on %s%s%s:%u\n", v6web ? "[" : "", ho->host.c_str(),
                   v6web ? "]" : "", static_cast<unsigned>(web->port()));
      web->start();
    }
    std::fflush(stderr);
    srv.run();
    if (web) web->stop();
    std::fprintf(stderr, "cartridge serve: stopped\n");
  } catch (const cartridgedb::Error& e) {
    std::fprintf(stderr, "cartridge serve: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cartridge serve: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace cdb::cli
