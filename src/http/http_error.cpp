#include "http/http_error.h"

#include <nlohmann/json.hpp>

namespace cdb::http {

namespace {

struct KindStatus {
  cartridgedb::ErrorKind kind;
  int status;
  const char* type;  // OpenAI's error types, so that clients classify them as they do OpenAI's
  const char* code;
};

// The one table: an engine error kind to an HTTP status. Why each:
//  - Cancelled is only ever a request cut short by the server's own
//    request timeout (a client that hangs up gets no answer at all): 408.
//  - ResourceExhausted is the batch's queue (a request waited past the
//    scheduler's max wait, or cannot fit a KV slot now): 503, try later.
//  - QuotaExceeded is the user's own limit: 429, as OpenAI's rate limits.
//  - LimitExceeded is a fixed size limit of a value: 413.
constexpr KindStatus kTable[] = {
    {cartridgedb::ErrorKind::InvalidArgument, 400, "invalid_request_error", "invalid_value"},
    {cartridgedb::ErrorKind::Parse, 400, "invalid_request_error", "invalid_value"},
    {cartridgedb::ErrorKind::NotFound, 404, "invalid_request_error", "not_found"},
    {cartridgedb::ErrorKind::CorruptData, 500, "server_error", "corrupt_data"},
    {cartridgedb::ErrorKind::Unsupported, 400, "invalid_request_error", "unsupported"},
    {cartridgedb::ErrorKind::IoError, 500, "server_error", "io_error"},
    {cartridgedb::ErrorKind::ResourceExhausted, 503, "server_error", "overloaded"},
    {cartridgedb::ErrorKind::Cancelled, 408, "timeout_error", "timeout"},
    {cartridgedb::ErrorKind::PermissionDenied, 403, "permission_error", "permission_denied"},
    {cartridgedb::ErrorKind::LimitExceeded, 413, "invalid_request_error", "too_large"},
    {cartridgedb::ErrorKind::QuotaExceeded, 429, "rate_limit_error", "quota_exceeded"},
    {cartridgedb::ErrorKind::UndefinedObject, 404, "invalid_request_error", "not_found"},
    {cartridgedb::ErrorKind::JobFailed, 500, "server_error", "job_failed"},
    {cartridgedb::ErrorKind::Internal, 500, "server_error", "internal"},
};

}  // namespace

HttpError bad_field(const std::string& path, const std::string& message) {
  return HttpError(400, "invalid_request_error", path.empty() ? message : path + ": " + message, path, "invalid_value");
}

HttpError from_engine_error(const cartridgedb::Error& e) {
  for (const auto& row : kTable)
    if (row.kind == e.kind()) return HttpError(row.status, row.type, e.what(), {}, row.code);
  return HttpError(500, "server_error", e.what(), {}, "internal");
}

std::string error_body(const HttpError& e) {
  nlohmann::json err = {{"message", e.what()}, {"type", e.type()}};
  err["param"] = e.param().empty() ? nlohmann::json(nullptr) : nlohmann::json(e.param());
  err["code"] = e.code().empty() ? nlohmann::json(nullptr) : nlohmann::json(e.code());
  return nlohmann::json{{"error", err}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace cdb::http
