#include "storage/pg_catalog_url.h"

#include <cctype>

#include "common/error.h"

namespace cdb {

namespace {

bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'; }

bool all_word_chars(std::string_view s) {
  for (char c : s)
    if (!is_word_char(c)) return false;
  return !s.empty();
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string PgCatalogUrl::redacted() const {
  std::string host_part = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return "postgresql://" + (user.empty() ? std::string() : user + "@") + host_part + ":" + std::to_string(port) + "/" +
         dbname;
}

bool is_postgresql_url(std::string_view location) {
  return location.starts_with("postgresql://") || location.starts_with("postgres://");
}

PgCatalogUrl parse_pg_catalog_url(std::string_view url) {
  // Messages quote the URL only up to the '@': what follows the scheme may
  // hold a password.
  auto bad = [&](const std::string& why) {
    return InvalidArgument("catalog URL: " + why + "; expected postgresql://user@host:port/dbname");
  };
  std::string_view rest;
  if (url.starts_with("postgresql://")) rest = url.substr(13);
  else if (url.starts_with("postgres://")) rest = url.substr(11);
  else throw bad("it does not start with postgresql://");
  if (rest.find_first_of("?#") != std::string_view::npos)
    throw bad("query strings and fragments are not accepted (give options through PG* environment variables)");
  PgCatalogUrl out;
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    std::string_view user = userinfo;
    if (const auto colon = userinfo.find(':'); colon != std::string_view::npos) {
      user = userinfo.substr(0, colon);
      std::string_view pw = userinfo.substr(colon + 1);
      for (size_t i = 0; i < pw.size(); ++i) {
        if (pw[i] == '%') {
          if (i + 2 >= pw.size()) throw bad("the password has a bad %-escape");
          const int a = hex_value(pw[i + 1]), b = hex_value(pw[i + 2]);
          if (a < 0 || b < 0) throw bad("the password has a bad %-escape");
          out.password += static_cast<char>(a * 16 + b);
          i += 2;
        } else if (static_cast<unsigned char>(pw[i]) <= 0x20 || pw[i] == '/' || pw[i] == 0x7f) {
          throw bad("the password holds a character that must be %-escaped");
        } else {
          out.password += pw[i];
        }
      }
    }
    if (!all_word_chars(user) || user.size() > 63)
      throw bad("user name '" + std::string(user) + "' must be 1 to 63 of A-Z a-z 0-9 _ . -");
    out.user = user;
  }
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos) throw bad("no database name after the host");
  std::string_view hostport = rest.substr(0, slash), db = rest.substr(slash + 1);
  std::string_view port;
  if (hostport.starts_with("[")) {
    const auto close = hostport.find(']');
    if (close == std::string_view::npos) throw bad("unclosed '[' in the host");
    out.host = hostport.substr(1, close - 1);
    for (char c : out.host)
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') throw bad("bad IPv6 address");
    if (out.host.empty()) throw bad("empty IPv6 address");
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') throw bad("unexpected text after the IPv6 address");
      port = after.substr(1);
      if (port.empty()) throw bad("empty port");
    }
  } else {
    const auto colon = hostport.find(':');
    out.host = hostport.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = hostport.substr(colon + 1);
      if (port.empty()) throw bad("empty port");
    }
    if (!all_word_chars(out.host) || out.host.size() > 253)
      throw bad("host '" + out.host + "' must be a name or an address");
  }
  if (!port.empty()) {
    if (port.size() > 5) throw bad("port '" + std::string(port) + "' is not a number from 1 to 65535");
    int p = 0;
    for (char c : port) {
      if (!std::isdigit(static_cast<unsigned char>(c)))
        throw bad("port '" + std::string(port) + "' is not a number from 1 to 65535");
      p = p * 10 + (c - '0');
    }
    if (p < 1 || p > 65535) throw bad("port '" + std::string(port) + "' is not a number from 1 to 65535");
    out.port = p;
  }
  if (!all_word_chars(db) || db.size() > 63)
    throw bad("database name '" + std::string(db) + "' must be 1 to 63 of A-Z a-z 0-9 _ . -");
  out.dbname = db;
  return out;
}

}  // namespace cdb
