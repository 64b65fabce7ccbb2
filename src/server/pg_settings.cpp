#include "server/pg_settings.h"

#include <algorithm>
#include <cctype>

#include "cartridgedb/cartridgedb.h"
#include "server/sqlstate.h"

namespace cdb::server {

namespace {

// PostgreSQL 15's defaults for the parameters drivers and tools read or
// set (seen from psql, pgjdbc 42.5, node-postgres 8, psycopg 2 and 3,
// SQLAlchemy 1.4 against a real PostgreSQL with log_statement = all).
// server_version is reported as 15.0, the protocol and catalog level this
// server answers at.
const PgSettings::Parameter kParameters[] = {
    {"application_name", "", true, true, "Reporting and Logging / What to Log"},
    {"bytea_output", "hex", true, false, "Client Connection Defaults / Statement Behavior"},
    {"client_encoding", "UTF8", true, true, "Client Connection Defaults / Locale and Formatting"},
    {"client_min_messages", "notice", true, false, "Client Connection Defaults / Statement Behavior"},
    {"DateStyle", "ISO, MDY", true, true, "Client Connection Defaults / Locale and Formatting"},
    {"default_transaction_isolation", "read committed", true, false,
     "Client Connection Defaults / Statement Behavior"},
    {"default_transaction_read_only", "off", true, false, "Client Connection Defaults / Statement Behavior"},
    {"default_transaction_deferrable", "off", true, false, "Client Connection Defaults / Statement Behavior"},
    {"extra_float_digits", "1", true, false, "Client Connection Defaults / Locale and Formatting"},
    {"idle_in_transaction_session_timeout", "0", true, false, "Client Connection Defaults / Statement Behavior"},
    {"integer_datetimes", "on", false, true, "Preset Options"},
    {"IntervalStyle", "postgres", true, true, "Client Connection Defaults / Locale and Formatting"},
    {"is_superuser", "off", false, true, "Preset Options"},
    {"jit", "off", true, false, "Query Tuning / Other Planner Options"},
    {"lc_messages", "C", true, false, "Client Connection Defaults / Locale and Formatting"},
    {"lc_monetary", "C", true, false, "Client Connection Defaults / Locale and Formatting"},
    {"lc_numeric", "C", true, false, "Client Connection Defaults / Locale and Formatting"},
    {"lc_time", "C", true, false, "Client Connection Defaults / Locale and Formatting"},
    {"lock_timeout", "0", true, false, "Client Connection Defaults / Statement Behavior"},
    {"max_identifier_length", "63", false, false, "Preset Options"},
    {"row_security", "on", true, false, "Client Connection Defaults / Statement Behavior"},
    {"search_path", "\"$user\", public", true, false, "Client Connection Defaults / Statement Behavior"},
    {"server_encoding", "UTF8", false, true, "Preset Options"},
    {"server_version", "15.0", false, true, "Preset Options"},
    {"server_version_num", "150000", false, false, "Preset Options"},
    {"session_authorization", "", false, true, "Preset Options"},
    {"standard_conforming_strings", "on", true, true, "Version and Platform Compatibility"},
    {"statement_timeout", "0", true, false, "Client Connection Defaults / Statement Behavior"},
    {"synchronous_commit", "on", true, false, "Write-Ahead Log / Settings"},
    {"TimeZone", "UTC", true, true, "Client Connection Defaults / Locale and Formatting"},
    {"timezone_abbreviations", "Default", true, false, "Client Connection Defaults / Locale and Formatting"},
    {"transaction_deferrable", "off", true, false, "Client Connection Defaults / Statement Behavior"},
    {"transaction_isolation", "read committed", true, false, "Client Connection Defaults / Statement Behavior"},
    {"transaction_read_only", "off", true, false, "Client Connection Defaults / Statement Behavior"},
    {"xmloption", "content", true, false, "Client Connection Defaults / Statement Behavior"},
};

constexpr size_t kMaxValueBytes = 1000;

std::string pg_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

[[noreturn]] void bad_value(const std::string& name, const std::string& value, const std::string& why) {
  throw SqlError(sqlstate::kInvalidParameterValue,
                 "invalid value for parameter \"" + name + "\": \"" + value + "\"; " + why);
}

// statement_timeout's value in ms: an integer (ms), or one with a unit as
// PostgreSQL accepts (ms, s, min, h, d).
std::optional<int64_t> parse_ms(std::string_view v) {
  size_t i = 0;
  while (i < v.size() && v[i] == ' ') ++i;
  const size_t start = i;
  while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) ++i;
  if (i == start || i - start > 12) return std::nullopt;
  const int64_t n = std::stoll(std::string(v.substr(start, i - start)));
  while (i < v.size() && v[i] == ' ') ++i;
  const std::string unit = pg_lower(v.substr(i));
  if (unit.empty() || unit == "ms") return n;
  if (unit == "s") return n * 1000;
  if (unit == "min") return n * 60'000;
  if (unit == "h") return n * 3'600'000;
  if (unit == "d") return n * 86'400'000;
  return std::nullopt;
}

}  // namespace

PgSettings::PgSettings(std::string user, bool superuser, const std::map<std::string, std::string>& startup)
    : user_(std::move(user)), superuser_(superuser) {
  reset_all();
  for (const auto& [k, v] : startup) {
    if (!known(k) || !find(k).writable) continue;
    try {
      set(k, v);
    } catch (const std::exception&) {
      // A startup value we cannot keep (another client_encoding, say) is
      // left at its default, as the client is told in ParameterStatus.
    }
  }
}

const PgSettings::Parameter& PgSettings::find(std::string_view name) const {
  const std::string n = pg_lower(name);
  for (const auto& p : kParameters)
    if (pg_lower(p.name) == n) return p;
  throw cartridgedb::UndefinedObject("unrecognized configuration parameter \"" + std::string(name) + "\"");
}

bool PgSettings::known(std::string_view name) const {
  const std::string n = pg_lower(name);
  return std::any_of(std::begin(kParameters), std::end(kParameters), [&](const Parameter& p) { return pg_lower(p.name) == n; });
}

std::string PgSettings::canonical(std::string_view name) const { return find(name).name; }

std::string PgSettings::get(std::string_view name) const {
  const Parameter& p = find(name);
  return values_.at(pg_lower(p.name));
}

void PgSettings::set(std::string_view name, std::string value) {
  const Parameter& p = find(name);
  const std::string key = pg_lower(p.name);
  if (!p.writable)
    throw SqlError("55P02", "parameter \"" + std::string(p.name) + "\" cannot be changed");
  if (value.size() > kMaxValueBytes)
    bad_value(p.name, value.substr(0, 40) + "...", "values are at most 1000 bytes");
  const std::string v = pg_lower(value);
  if (key == "client_encoding") {
    if (v != "utf8" && v != "utf-8" && v != "unicode")
      bad_value(p.name, value, "this server speaks UTF8 only");
    value = "UTF8";
  } else if (key == "standard_conforming_strings") {
    if (v != "on" && v != "true" && v != "1")
      bad_value(p.name, value, "a backslash is always ordinary in string literals here (on only)");
    value = "on";
  } else if (key == "bytea_output") {
    if (v != "hex") bad_value(p.name, value, "only hex is supported");
  } else if (key == "statement_timeout" || key == "lock_timeout" || key == "idle_in_transaction_session_timeout") {
    const auto ms = parse_ms(value);
    if (!ms) bad_value(p.name, value, "expected milliseconds, or a number with a unit (ms, s, min, h, d)");
    value = std::to_string(*ms);
  } else if (key == "extra_float_digits") {
    char* end = nullptr;
    const long n = std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end || n < -15 || n > 3) bad_value(p.name, value, "expected an integer from -15 to 3");
  } else if (key == "transaction_isolation" || key == "default_transaction_isolation") {
    if (v != "read uncommitted" && v != "read committed" && v != "repeatable read" && v != "serializable")
      bad_value(p.name, value,
                "expected read uncommitted, read committed, repeatable read or serializable (every statement "
                "takes effect at once here, so all behave alike)");
    value = v;
  }
  values_[key] = std::move(value);
}

void PgSettings::reset(std::string_view name) {
  const Parameter& p = find(name);
  if (!p.writable) throw SqlError("55P02", "parameter \"" + std::string(p.name) + "\" cannot be changed");
  values_[pg_lower(p.name)] = p.boot;
}

void PgSettings::reset_all() {
  for (const auto& p : kParameters) {
    const std::string key = pg_lower(p.name);
    if (!p.writable && values_.count(key)) continue;
    values_[key] = p.boot;
  }
  values_["is_superuser"] = superuser_ ? "on" : "off";
  values_["session_authorization"] = user_;
}

std::vector<std::pair<std::string, std::string>> PgSettings::all() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& p : kParameters) out.emplace_back(p.name, values_.at(pg_lower(p.name)));
  return out;
}

bool PgSettings::reported(std::string_view name) const { return known(name) && find(name).report; }

std::chrono::milliseconds PgSettings::statement_timeout() const {
  return std::chrono::milliseconds(std::stoll(values_.at("statement_timeout")));
}

}  // namespace cdb::server
