// PgSettings: one connection's PostgreSQL run-time parameters (GUCs), kept
// as PostgreSQL keeps them, so that drivers which SET and SHOW them on
// connect (pgjdbc: extra_float_digits, application_name; SQLAlchemy:
// transaction_isolation, standard_conforming_strings; psql, node-postgres,
// psycopg) work.
//
// Contract:
// - Names are case-insensitive; each parameter has a canonical spelling
//   (DateStyle, TimeZone, ...) that SHOW uses as its column name.
// - Writable parameters keep any value a client sets (bounded to 1,000
//   bytes), except where a value would promise what the server does not do:
//   client_encoding other than UTF8, standard_conforming_strings off and
//   bytea_output other than hex are refused with 22023, naming what is
//   accepted. statement_timeout is checked as PostgreSQL's (an integer of
//   ms, or with a unit) and is applied by the session.
// - Read-only ones (server_version, integer_datetimes, ...) refuse SET with
//   55P02 (cant_change_runtime_param).
// - An unknown name is cartridgedb::UndefinedObject (42704) naming it.
// - Values are per connection: nothing is shared between sessions.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cdb::server {

class PgSettings {
 public:
  // `user` and `superuser`: session_authorization, is_superuser.
  // `startup`: the StartupMessage's options; the known writable ones are
  // applied (an unusable value there is ignored, as a reset would be).
  PgSettings(std::string user, bool superuser, const std::map<std::string, std::string>& startup = {});

  // Whether `name` is a parameter this server keeps.
  bool known(std::string_view name) const;
  // The canonical spelling of a known name (DateStyle for datestyle).
  std::string canonical(std::string_view name) const;
  // The current value; UndefinedObject when unknown.
  std::string get(std::string_view name) const;
  // Throws UndefinedObject, or SqlError 55P02 / 22023 (see above).
  void set(std::string_view name, std::string value);
  void reset(std::string_view name);
  void reset_all();
  // Every parameter and its value, by canonical name (SHOW ALL, pg_settings).
  std::vector<std::pair<std::string, std::string>> all() const;
  // Whether a change of `name` is reported to the client in ParameterStatus
  // (GUC_REPORT in PostgreSQL).
  bool reported(std::string_view name) const;

  // statement_timeout as a duration (0: none).
  std::chrono::milliseconds statement_timeout() const;
  const std::string& user() const { return user_; }
  bool superuser() const { return superuser_; }

  struct Parameter {
    const char* name;      // canonical
    const char* boot;      // default
    bool writable;
    bool report;           // ParameterStatus on change
    const char* category;  // pg_settings.category
  };

 private:
  const Parameter& find(std::string_view name) const;

  std::string user_;
  bool superuser_;
  std::map<std::string, std::string> values_;  // lower-case name -> value
};

}  // namespace cdb::server
