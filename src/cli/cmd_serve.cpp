// cartridge serve [DATA_DIR] ...: the PostgreSQL wire protocol over one
// Database (src/server/), so that psql and Postgres drivers can ASK.
// `cartridge serve --users FILE --add-user NAME [--superuser]` reads a
// password from stdin and adds a SCRAM-SHA-256 entry to the users file
// instead; `--set-quota NAME key=value` sets one of a user's quotas.
#include <cxxopts.hpp>

#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cartridgedb/cartridgedb.h"
#include "cli/commands.h"
#include "common/command_line.h"
#include "server/server.h"
#include "server/users.h"

namespace cdb::cli {
namespace {

// "HOST:PORT", ":PORT", "PORT" or "HOST" (port 5433).
void parse_listen(const std::string& text, server::ServerOptions& o) {
  const size_t colon = text.rfind(':');
  std::string host = colon == std::string::npos ? text : text.substr(0, colon);
  std::string port = colon == std::string::npos ? "" : text.substr(colon + 1);
  if (colon == std::string::npos && !text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
    host.clear();
    port = text;
  }
  if (!host.empty()) o.host = host;
  if (!port.empty()) {
    size_t used = 0;
    const unsigned long p = std::stoul(port, &used);
    if (used != port.size() || p > 65535) throw std::invalid_argument("bad port in --listen " + text);
    o.port = static_cast<uint16_t>(p);
  }
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
      ("listen", "HOST:PORT to listen on (port 0: any free port)", cxxopts::value<std::string>()->default_value("127.0.0.1:5433"))
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
      ("max-message-size", "bytes; a longer message ends its connection", cxxopts::value<size_t>()->default_value(std::to_string(64u << 20)))
      ("idle-timeout", "seconds a session may wait between messages (0: no limit)", cxxopts::value<double>()->default_value("0"))
      ("statement-timeout", "seconds a statement may run (0: no limit)", cxxopts::value<double>()->default_value("0"))
      ("shutdown-grace", "seconds running statements get on SIGTERM before they are cancelled", cxxopts::value<double>()->default_value("5"))
      ("io-threads", "threads for network I/O", cxxopts::value<int>()->default_value("2"))
      ("h,help", "this help");
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
  try {
    parse_listen(args["listen"].as<std::string>(), so);
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
  so.tls_cert = args["tls-cert"].as<std::string>();
  so.tls_key = args["tls-key"].as<std::string>();
  so.max_connections = args["max-connections"].as<int>();
  so.max_message_bytes = args["max-message-size"].as<size_t>();
  so.idle_timeout = ms("idle-timeout");
  so.statement_timeout = ms("statement-timeout");
  so.shutdown_grace = ms("shutdown-grace");
  so.io_threads = args["io-threads"].as<int>();

  cartridgedb::OpenOptions o;
  o.model_path = args["model"].as<std::string>();
  o.tokenizer_path = args["tokenizer"].as<std::string>();
  o.device = args["device"].as<std::string>();
  try {
    auto db = cartridgedb::Database::open(args["dir"].as<std::string>(), o);
    server::Server srv(*db, so);
    std::fprintf(stderr, "cartridge serve: %s on %s:%u (auth %s, TLS %s)\n", db->dir().c_str(), so.host.c_str(),
                 static_cast<unsigned>(srv.port()), so.auth == server::AuthMethod::Trust ? "trust" : "scram-sha-256",
                 so.tls_cert.empty() ? "off" : "on");
    std::fflush(stderr);
    srv.run();
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
