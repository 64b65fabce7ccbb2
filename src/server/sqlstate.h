// SQLSTATE codes and ErrorResponse / NoticeResponse fields. The engine's
// typed errors (cartridgedb::Error) map to the PostgreSQL class that a
// driver turns into the matching exception (psycopg: 42601 SyntaxError,
// 42P01 UndefinedTable, 57014 QueryCanceled, ...).
#pragma once

#include <exception>
#include <stdexcept>
#include <string>

#include "server/message_writer.h"

namespace cdb::server::sqlstate {
inline constexpr const char* kSuccessfulCompletion = "00000";
inline constexpr const char* kProtocolViolation = "08P01";
inline constexpr const char* kFeatureNotSupported = "0A000";
inline constexpr const char* kInvalidParameterValue = "22023";
inline constexpr const char* kNullValueNotAllowed = "22004";
inline constexpr const char* kInvalidTextRepresentation = "22P02";
inline constexpr const char* kInFailedTransaction = "25P02";
inline constexpr const char* kInvalidAuthorization = "28000";
inline constexpr const char* kInvalidPassword = "28P01";
inline constexpr const char* kInvalidCursorName = "34000";
// A training job the statement waited for failed: the job ran outside the
// statement, as an external routine does.
inline constexpr const char* kExternalRoutineException = "38000";
inline constexpr const char* kSyntaxError = "42601";
inline constexpr const char* kUndefinedTable = "42P01";
inline constexpr const char* kDuplicatePreparedStatement = "42P05";
inline constexpr const char* kUndefinedPreparedStatement = "26000";
inline constexpr const char* kOutOfMemory = "53200";
inline constexpr const char* kConfigurationLimitExceeded = "53400";
inline constexpr const char* kInsufficientPrivilege = "42501";
inline constexpr const char* kUndefinedObject = "42704";
inline constexpr const char* kTooManyConnections = "53300";
inline constexpr const char* kProgramLimitExceeded = "54000";
inline constexpr const char* kQueryCanceled = "57014";
inline constexpr const char* kAdminShutdown = "57P01";
inline constexpr const char* kIdleSessionTimeout = "57P05";
inline constexpr const char* kIoError = "58030";
inline constexpr const char* kDataCorrupted = "XX001";
inline constexpr const char* kInternalError = "XX000";
}  // namespace cdb::server::sqlstate

namespace cdb::server {

// An error the server itself raises with a given SQLSTATE.
class SqlError : public std::runtime_error {
 public:
  SqlError(const char* code, const std::string& message) : std::runtime_error(message), code_(code) {}
  const char* code() const { return code_; }

 private:
  const char* code_;
};

struct ErrorInfo {
  std::string severity = "ERROR";  // ERROR, FATAL; NOTICE for notices
  std::string code;
  std::string message;
  std::string detail;    // optional, e.g. the caret excerpt of a syntax error
  size_t position = 0;   // 1-based character in the query string; 0: none
};

// The ErrorInfo for the exception being handled (call inside catch). A
// cartridgedb::ParseError's position is its byte offset into `statement`,
// which begins `statement_offset` bytes into `query`.
ErrorInfo describe_current_exception(std::string_view query = {}, size_t statement_offset = 0);

// ErrorResponse ('E') or, with notice = true, NoticeResponse ('N').
void write_error(MessageWriter& w, const ErrorInfo& e, bool notice = false);

}  // namespace cdb::server
