// HttpError: a request that fails with an HTTP status, in OpenAI's error
// shape ({"error": {"message", "type", "param", "code"}}). The one table
// that maps the engine's error kinds (cartridgedb::ErrorKind) to statuses
// is status_for() in http_error.cpp; nowhere else decides a status for an
// engine error.
#pragma once

#include <stdexcept>
#include <string>

#include "cartridgedb/cartridgedb.h"

namespace cdb::http {

class HttpError : public std::runtime_error {
 public:
  // `type`: OpenAI's error type ("invalid_request_error", ...); `param`: the
  // JSON path of the offending field ("messages[1].content"), or empty.
  HttpError(int status, std::string type, const std::string& message, std::string param = {}, std::string code = {})
      : std::runtime_error(message), status_(status), type_(std::move(type)), param_(std::move(param)),
        code_(std::move(code)) {}
  int status() const { return status_; }
  const std::string& type() const { return type_; }
  const std::string& param() const { return param_; }
  const std::string& code() const { return code_; }
  // Seconds to put in Retry-After (503, 429); 0: none.
  int retry_after_s() const { return status_ == 503 || status_ == 429 ? 1 : 0; }

 private:
  int status_;
  std::string type_, param_, code_;
};

// 400 with the JSON path that is wrong.
HttpError bad_field(const std::string& path, const std::string& message);

// The status and type for an engine error: the one mapping table.
HttpError from_engine_error(const cartridgedb::Error& e);

// {"error": {...}} as a JSON text.
std::string error_body(const HttpError& e);

}  // namespace cdb::http
