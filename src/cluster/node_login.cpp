#include "cluster/node_login.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <vector>

#include "common/error.h"

namespace cdb {

std::string node_password(std::string_view cluster_secret) {
  if (cluster_secret.size() < kMinClusterSecretBytes || cluster_secret.size() > kMaxClusterSecretBytes)
    throw InvalidArgument("the cluster secret must be " + std::to_string(kMinClusterSecretBytes) + " to " +
                          std::to_string(kMaxClusterSecretBytes) + " bytes (e.g. `openssl rand -hex 32`), got " +
                          std::to_string(cluster_secret.size()));
  // A label of its own, so that the password is worth nothing for any
  // other use a deployment might make of the same secret.
  static constexpr std::string_view kLabel = "cartridgedb node login v1";
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), cluster_secret.data(), static_cast<int>(cluster_secret.size()),
            reinterpret_cast<const unsigned char*>(kLabel.data()), kLabel.size(), mac, &len))
    throw Error("HMAC-SHA-256 of the cluster secret failed (OpenSSL)");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 15];
  }
  return out;
}

std::string act_as_options(std::string_view user) {
  std::string out = std::string("-c ") + kActAsOption + "=";
  for (char c : user) {
    if (c == ' ' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::optional<std::string> parse_act_as(std::string_view options) {
  if (options.size() > 64 * 1024) throw InvalidArgument("the startup options are longer than 64 KiB");
  // Split on unescaped whitespace, as the PostgreSQL server does.
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < options.size(); ++i) {
    const char c = options[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\\' && i + 1 < options.size()) word += options[++i];  // an escaped character
    else word += c;
  }
  if (in_word) words.push_back(std::move(word));
  const std::string prefix = std::string(kActAsOption) + "=";
  std::optional<std::string> found;
  for (size_t i = 0; i < words.size(); ++i) {
    std::string setting;
    if (words[i] == "-c" && i + 1 < words.size()) setting = words[++i];
    else if (words[i].rfind("-c", 0) == 0) setting = words[i].substr(2);
    else if (words[i].rfind("--", 0) == 0) setting = words[i].substr(2);
    else continue;
    if (setting.rfind(prefix, 0) != 0) continue;
    if (found) throw InvalidArgument(std::string(kActAsOption) + " is given twice in the startup options");
    found = setting.substr(prefix.size());
    if (found->empty()) throw InvalidArgument(std::string(kActAsOption) + " names no user");
  }
  return found;
}

}  // namespace cdb
