// PgCatalogUrl: where a PostgreSQL catalog lives, parsed strictly from
// --catalog / CDB_CATALOG:
//
//   postgresql://[user[:password]@]host[:port]/dbname
//
// (postgres:// is accepted too.) host is a name, an IPv4 address or a
// bracketed IPv6 address; port defaults to 5432; no query string, no
// fragment, no percent-escapes except in the password. Anything else is
// InvalidArgument saying what is wrong. The password never appears in a
// message: redacted() is the form every message uses; better still, give
// it through PGPASSWORD or ~/.pgpass, which libpq reads itself.
#pragma once

#include <string>
#include <string_view>

namespace cdb {

struct PgCatalogUrl {
  std::string user;      // empty: libpq's default (PGUSER, else the OS user)
  std::string password;  // empty: PGPASSWORD or ~/.pgpass
  std::string host;
  int port = 5432;
  std::string dbname;

  // postgresql://user@host:port/dbname, without the password.
  std::string redacted() const;
};

// Whether `location` names a PostgreSQL catalog (by its scheme) rather than
// a SQLite file.
bool is_postgresql_url(std::string_view location);
PgCatalogUrl parse_pg_catalog_url(std::string_view url);

}  // namespace cdb
