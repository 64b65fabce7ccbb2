#include "server/scram.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cctype>
#include <charconv>
#include <memory>
#include <stdexcept>

#include "server/message_reader.h"

namespace cdb::server {

namespace {

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
            data.size(), out, &n))
    throw std::runtime_error("HMAC-SHA-256 failed");
  return std::string(reinterpret_cast<char*>(out), n);
}

std::string sha256(std::string_view data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<char*>(out), sizeof out);
}

std::string salted_password(std::string_view password, std::string_view salt, int iterations) {
  std::string out(32, '\0');
  if (!PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                         reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()), iterations,
                         EVP_sha256(), static_cast<int>(out.size()), reinterpret_cast<unsigned char*>(out.data())))
    throw std::runtime_error("PBKDF2-HMAC-SHA-256 failed");
  return out;
}

// The value of attribute `name` ("r" in "r=abc") among comma-separated
// attributes; throws when absent.
std::string_view attribute(std::string_view msg, char name) {
  size_t pos = 0;
  while (pos <= msg.size()) {
    size_t comma = msg.find(',', pos);
    if (comma == std::string_view::npos) comma = msg.size();
    std::string_view part = msg.substr(pos, comma - pos);
    if (part.size() >= 2 && part[0] == name && part[1] == '=') return part.substr(2);
    pos = comma + 1;
  }
  throw ProtocolViolation(std::string("malformed SCRAM message: no '") + name + "=' attribute");
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

std::string base64_encode(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(raw.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  for (char c : text)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=')) return std::nullopt;
  std::string out(3 * text.size() / 4 + 1, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  size_t len = static_cast<size_t>(n);
  // EVP_DecodeBlock counts the padding as zero bytes.
  for (size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) --len;
  out.resize(len);
  return out;
}

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return out;
}

ScramSecret ScramSecret::from_password(std::string_view password, int iterations, std::string salt) {
  ScramSecret s;
  s.iterations = iterations;
  s.salt = salt.empty() ? random_bytes(kScramSaltBytes) : std::move(salt);
  const std::string salted = salted_password(password, s.salt, iterations);
  s.stored_key = sha256(hmac_sha256(salted, "Client Key"));
  s.server_key = hmac_sha256(salted, "Server Key");
  return s;
}

std::string ScramSecret::to_string() const {
  return "SCRAM-SHA-256$" + std::to_string(iterations) + ":" + base64_encode(salt) + "$" + base64_encode(stored_key) +
         ":" + base64_encode(server_key);
}

std::optional<ScramSecret> ScramSecret::parse(std::string_view text) {
  constexpr std::string_view kPrefix = "SCRAM-SHA-256$";
  if (text.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  text.remove_prefix(kPrefix.size());
  const size_t colon1 = text.find(':'), dollar = text.find('$'), colon2 = text.rfind(':');
  if (colon1 == std::string_view::npos || dollar == std::string_view::npos || colon2 <= dollar || dollar < colon1)
    return std::nullopt;
  ScramSecret s;
  auto [p, ec] = std::from_chars(text.data(), text.data() + colon1, s.iterations);
  if (ec != std::errc() || p != text.data() + colon1 || s.iterations < 1) return std::nullopt;
  auto salt = base64_decode(text.substr(colon1 + 1, dollar - colon1 - 1));
  auto stored = base64_decode(text.substr(dollar + 1, colon2 - dollar - 1));
  auto server = base64_decode(text.substr(colon2 + 1));
  if (!salt || !stored || !server || stored->size() != 32 || server->size() != 32 || salt->empty()) return std::nullopt;
  s.salt = *salt;
  s.stored_key = *stored;
  s.server_key = *server;
  return s;
}

ScramSecret mock_secret(std::string_view server_key, std::string_view user) {
  auto derive = [&](std::string_view purpose) { return hmac_sha256(server_key, std::string(purpose) + '\0' + std::string(user)); };
  ScramSecret s;
  s.iterations = kScramIterations;
  s.salt = derive("salt").substr(0, kScramSaltBytes);
  s.stored_key = derive("stored key");
  s.server_key = derive("server key");
  return s;
}

ScramExchange::ScramExchange(std::optional<ScramSecret> secret, std::string server_nonce, std::optional<ScramSecret> mock)
    : secret_(std::move(secret)), server_nonce_(std::move(server_nonce)) {
  if (server_nonce_.empty()) server_nonce_ = base64_encode(random_bytes(18));
  if (secret_) {
    used_ = *secret_;
  } else if (mock) {
    used_ = std::move(*mock);
  } else {
    used_.salt = random_bytes(kScramSaltBytes);
    used_.stored_key = random_bytes(32);
    used_.server_key = random_bytes(32);
  }
}

std::string ScramExchange::first(std::string_view client_first) {
  // gs2-header: "n,," (no binding), "y,," (client could bind), "p=..." (binds).
  if (client_first.size() < 3) throw ProtocolViolation("malformed SCRAM client-first-message");
  if (client_first[0] == 'p')
    throw ProtocolViolation("channel binding was not offered by the server (SCRAM-SHA-256 without -PLUS)");
  if ((client_first[0] != 'n' && client_first[0] != 'y') || client_first[1] != ',')
    throw ProtocolViolation("malformed SCRAM gs2 header");
  const size_t second_comma = client_first.find(',', 2);
  if (second_comma == std::string_view::npos) throw ProtocolViolation("malformed SCRAM gs2 header");
  gs2_header_ = std::string(client_first.substr(0, second_comma + 1));
  client_first_bare_ = std::string(client_first.substr(second_comma + 1));
  const std::string_view client_nonce = attribute(client_first_bare_, 'r');
  if (client_nonce.empty()) throw ProtocolViolation("empty SCRAM client nonce");
  for (char c : client_nonce)
    if (c < 0x21 || c > 0x7e || c == ',') throw ProtocolViolation("invalid character in SCRAM client nonce");
  nonce_ = std::string(client_nonce) + server_nonce_;
  server_first_ = "r=" + nonce_ + ",s=" + base64_encode(used_.salt) + ",i=" + std::to_string(used_.iterations);
  return server_first_;
}

std::optional<std::string> ScramExchange::final(std::string_view client_final) {
  if (server_first_.empty()) throw ProtocolViolation("SCRAM client-final-message before client-first-message");
  const size_t proof_at = client_final.rfind(",p=");
  if (proof_at == std::string_view::npos) throw ProtocolViolation("malformed SCRAM client-final-message: no proof");
  const std::string_view without_proof = client_final.substr(0, proof_at);
  if (attribute(without_proof, 'c') != base64_encode(gs2_header_))
    throw ProtocolViolation("SCRAM channel-binding data does not match the gs2 header");
  if (attribute(without_proof, 'r') != nonce_) throw ProtocolViolation("SCRAM nonce does not match");
  const auto proof = base64_decode(client_final.substr(proof_at + 3));
  if (!proof || proof->size() != 32) throw ProtocolViolation("malformed SCRAM client proof");

  const std::string auth_message = client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
  const std::string client_signature = hmac_sha256(used_.stored_key, auth_message);
  std::string client_key(32, '\0');
  for (size_t i = 0; i < 32; ++i) client_key[i] = static_cast<char>((*proof)[i] ^ client_signature[i]);
  if (!secret_ || !constant_time_equal(sha256(client_key), used_.stored_key)) return std::nullopt;
  return "v=" + base64_encode(hmac_sha256(used_.server_key, auth_message));
}

}  // namespace cdb::server
