#include "server/users.h"

#include <sys/stat.h>

#include <cstdio>
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
}

}  // namespace

UserFile UserFile::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read users file " + path);
  UserFile f;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (ignorable(line)) continue;
    const size_t colon = line.find(':');
    auto secret = colon == std::string::npos ? std::nullopt : ScramSecret::parse(line.substr(colon + 1));
    if (colon == 0 || !secret)
      throw std::runtime_error(path + ":" + std::to_string(n) +
                               ": expected name:SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>");
    f.users_[line.substr(0, colon)] = std::move(*secret);
  }
  return f;
}

std::optional<ScramSecret> UserFile::find(const std::string& user) const {
  auto it = users_.find(user);
  if (it == users_.end()) return std::nullopt;
  return it->second;
}

void UserFile::set_password(const std::string& path, const std::string& user, const std::string& password) {
  check_name(user);
  if (password.empty()) throw std::runtime_error("empty password");
  std::vector<std::string> lines;
  {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line))
      if (line.rfind(user + ":", 0) != 0) lines.push_back(line);
  }
  lines.push_back(user + ":" + ScramSecret::from_password(password).to_string());
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write " + tmp);
    for (const auto& l : lines) out << l << "\n";
    out.flush();
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  ::chmod(tmp.c_str(), 0600);  // secrets: readable by the server's user only
  std::filesystem::rename(tmp, path);
}

}  // namespace cdb::server
