#include "server/users.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace cdb::server {

namespace {

bool ignorable(const std::string& line) { return line.find_first_not_of(" \t\r") == std::string::npos || line[0] == '#'; }

void check_name(const std::string& user) {
  if (user.empty() || user.find_first_of(":\n\r") != std::string::npos)
    throw std::runtime_error("user name must be non-empty and contain no ':' or newline");
  std::string lower = user;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "public") throw std::runtime_error("user name \"" + user + "\" is reserved: PUBLIC means every user");
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t at = text.find(sep, start);
    out.push_back(text.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return out;
    start = at + 1;
  }
}

// Quota keys, in the order they are written.
struct QuotaKey {
  const char* name;
  int64_t cartridgedb::Quotas::*field;
};
constexpr QuotaKey kQuotaKeys[] = {
    {"queued_jobs", &cartridgedb::Quotas::queued_jobs},
    {"steps_per_job", &cartridgedb::Quotas::steps_per_job},
    {"corpora", &cartridgedb::Quotas::corpora},
    {"bytes_stored", &cartridgedb::Quotas::bytes_stored},
};

// "key=value" into `q`; throws naming what is wrong.
void apply_quota(const std::string& assignment, cartridgedb::Quotas& q) {
  const size_t eq = assignment.find('=');
  const std::string key = assignment.substr(0, eq);
  const std::string value = eq == std::string::npos ? "" : assignment.substr(eq + 1);
  for (const auto& k : kQuotaKeys) {
    if (key != k.name) continue;
    if (value == "unlimited") {
      q.*k.field = -1;
      return;
    }
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (value.empty() || used != value.size() || v < 0)
      throw std::runtime_error("quota " + key + " must be a non-negative number or 'unlimited', not '" + value + "'");
    q.*k.field = v;
    return;
  }
  throw std::runtime_error("unknown quota '" + key +
                           "' (expected queued_jobs, steps_per_job, corpora or bytes_stored, as key=value)");
}

std::string quotas_text(const cartridgedb::Quotas& q) {
  const cartridgedb::Quotas defaults;
  std::string out;
  for (const auto& k : kQuotaKeys) {
    if (q.*k.field == defaults.*k.field) continue;
    out += (out.empty() ? "" : ",") + std::string(k.name) + "=" +
           (q.*k.field < 0 ? std::string("unlimited") : std::to_string(q.*k.field));
  }
  return out;
}

std::string hex(const unsigned char* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

std::string api_key_hash(const std::string& key) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), d);
  return "sha256$" + hex(d, sizeof d);
}

bool valid_key_hash(const std::string& h) {
  return h.size() == 7 + 64 && h.rfind("sha256$", 0) == 0 &&
         h.find_first_not_of("0123456789abcdef", 7) == std::string::npos;
}

std::string entry_line(const std::string& name, const UserEntry& e) {
  std::string line = name + ":" + e.secret.to_string() + ":" + (e.superuser ? "superuser" : "user");
  const std::string q = quotas_text(e.quotas);
  if (e.api_key_hashes.empty()) return q.empty() ? line : line + ":" + q;
  std::string keys;
  for (const auto& h : e.api_key_hashes) keys += (keys.empty() ? "" : ",") + h;
  return line + ":" + q + ":" + keys;
}

// One entry line; std::nullopt when malformed.
std::optional<std::pair<std::string, UserEntry>> parse_line(const std::string& line) {
  const std::vector<std::string> f = split(line, ':');
  // name, then the secret's three ':'-separated parts, then role and quotas.
  if (f.size() < 4 || f.size() > 7 || f[0].empty()) return std::nullopt;
  auto secret = ScramSecret::parse(f[1] + ":" + f[2] + ":" + f[3]);
  if (!secret) return std::nullopt;
  UserEntry e{std::move(*secret), true, {}, {}};
  if (f.size() >= 5) {
    if (f[4] == "user") e.superuser = false;
    else if (f[4] != "superuser") return std::nullopt;
  }
  if (f.size() == 7 && !f[6].empty()) {
    for (const auto& h : split(f[6], ',')) {
      if (!valid_key_hash(h)) return std::nullopt;
      e.api_key_hashes.push_back(h);
    }
  }
  if (f.size() >= 6 && !f[5].empty()) {
    try {
      for (const auto& a : split(f[5], ',')) apply_quota(a, e.quotas);
    } catch (const std::runtime_error&) {
      return std::nullopt;
    }
  }
  return std::make_pair(f[0], std::move(e));
}

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

// Writes `lines` to `path` through `path`.tmp, created 0600 from the
// start: the file holds secrets, and a temporary file made with the umask
// and chmod-ed afterwards would be readable by others in between.
void write_lines(const std::string& path, const std::vector<std::string>& lines) {
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());  // a crashed run's leftover; O_EXCL below refuses anything raced in
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + tmp + ": " + std::strerror(errno));
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  bool ok = ::fchmod(fd, 0600) == 0;  // the umask may have taken bits; never more than the owner's
  for (size_t done = 0; ok && done < text.size();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ok = ::close(fd) == 0 && ok;
  if (!ok) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot write " + tmp + ": " + why);
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace

cartridgedb::SessionIdentity session_identity(const UserFile* users, const std::string& user,
                                              const std::string& load_root) {
  cartridgedb::SessionIdentity id;
  id.user = user;
  if (auto e = users ? users->entry(user) : std::nullopt) {
    id.superuser = e->superuser;
    id.quotas = e->quotas;
  }
  id.confine_server_files = true;
  id.load_root = load_root;
  return id;
}

UserFile UserFile::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read users file " + path);
  UserFile f;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (ignorable(line)) continue;
    auto e = parse_line(line);
    if (!e)
      throw std::runtime_error(path + ":" + std::to_string(n) +
                               ": expected name:SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>"
                               "[:superuser|user[:key=value,...[:sha256$<hex>,...]]]");
    f.users_[e->first] = std::move(e->second);
  }
  return f;
}

std::optional<ScramSecret> UserFile::find(const std::string& user) const {
  auto it = users_.find(user);
  if (it == users_.end()) return std::nullopt;
  return it->second.secret;
}

std::optional<std::string> UserFile::user_for_api_key(const std::string& key) const {
  const std::string h = api_key_hash(key);
  std::optional<std::string> found;
  // Every stored hash is compared, in constant time: how long this takes
  // says nothing about which key or user came close.
  for (const auto& [name, e] : users_)
    for (const auto& stored : e.api_key_hashes)
      if (stored.size() == h.size() && CRYPTO_memcmp(stored.data(), h.data(), h.size()) == 0) found = name;
  return found;
}

std::string UserFile::add_api_key(const std::string& path, const std::string& user) {
  std::vector<std::string> lines = read_lines(path);
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("cannot make an API key: OpenSSL's RAND_bytes failed");
  const std::string key = "cdb-" + hex(raw, sizeof raw);
  bool found = false;
  for (auto& l : lines) {
    if (ignorable(l)) continue;
    auto e = parse_line(l);
    if (!e || e->first != user) continue;
    e->second.api_key_hashes.push_back(api_key_hash(key));
    l = entry_line(user, e->second);
    found = true;
  }
  if (!found) throw std::runtime_error("no user '" + user + "' in " + path + "; add it first with --add-user");
  write_lines(path, lines);
  return key;
}

std::optional<UserEntry> UserFile::entry(const std::string& user) const {
  auto it = users_.find(user);
  if (it == users_.end()) return std::nullopt;
  return it->second;
}

void UserFile::set_password(const std::string& path, const std::string& user, const std::string& password,
                            bool superuser) {
  check_name(user);
  if (password.empty()) throw std::runtime_error("empty password");
  std::vector<std::string> lines = read_lines(path);
  UserEntry e{ScramSecret::from_password(password), superuser, {}, {}};
  bool replaced = false;
  for (auto& l : lines) {
    if (ignorable(l)) continue;
    auto old = parse_line(l);
    if (!old || old->first != user) continue;
    e.quotas = old->second.quotas;
    e.api_key_hashes = old->second.api_key_hashes;  // a new password keeps the API keys
    l = entry_line(user, e);
    replaced = true;
  }
  if (!replaced) lines.push_back(entry_line(user, e));
  write_lines(path, lines);
}

void UserFile::set_quota(const std::string& path, const std::string& user, const std::string& assignment) {
  std::vector<std::string> lines = read_lines(path);
  bool found = false;
  for (auto& l : lines) {
    if (ignorable(l)) continue;
    auto e = parse_line(l);
    if (!e || e->first != user) continue;
    apply_quota(assignment, e->second.quotas);
    l = entry_line(user, e->second);
    found = true;
  }
  if (!found) throw std::runtime_error("no user '" + user + "' in " + path + "; add it first with --add-user");
  write_lines(path, lines);
}

}  // namespace cdb::server
