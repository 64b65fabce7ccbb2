#include "server/sqlstate.h"

#include <stdexcept>

#include "cartridgedb/cartridgedb.h"
#include "server/message_reader.h"
#include "server/sql_text.h"

namespace cdb::server {

namespace {

const char* code_for(cartridgedb::ErrorKind kind) {
  using K = cartridgedb::ErrorKind;
  switch (kind) {
    case K::Parse: return sqlstate::kSyntaxError;
    case K::InvalidArgument: return sqlstate::kInvalidParameterValue;
    case K::NotFound: return sqlstate::kUndefinedTable;
    case K::CorruptData: return sqlstate::kDataCorrupted;
    case K::Unsupported: return sqlstate::kFeatureNotSupported;
    case K::IoError: return sqlstate::kIoError;
    case K::ResourceExhausted: return sqlstate::kOutOfMemory;
    case K::Cancelled: return sqlstate::kQueryCanceled;
    case K::PermissionDenied: return sqlstate::kInsufficientPrivilege;
    case K::LimitExceeded: return sqlstate::kProgramLimitExceeded;
    case K::QuotaExceeded: return sqlstate::kConfigurationLimitExceeded;
    case K::UndefinedObject: return sqlstate::kUndefinedObject;
    case K::JobFailed: return sqlstate::kExternalRoutineException;
    case K::Internal: return sqlstate::kInternalError;
  }
  return sqlstate::kInternalError;
}

}  // namespace

ErrorInfo describe_current_exception(std::string_view query, size_t statement_offset) {
  ErrorInfo e;
  try {
    throw;
  } catch (const cartridgedb::ParseError& p) {
    // Errors in option values are not syntax errors: a driver should see
    // the class of a bad value.
    e.code = p.cause() == cartridgedb::ParseError::Cause::Option ? sqlstate::kInvalidParameterValue
                                                                 : sqlstate::kSyntaxError;
    e.message = p.what();
    // With the query at hand the client draws the caret from the position
    // (as psql's "LINE 1:" does); without it, the excerpt is the detail.
    if (!query.empty())
      e.position = characters_before(query, statement_offset + p.offset()) + 1;
    else
      e.detail = p.excerpt();
  } catch (const cartridgedb::Error& x) {
    e.code = code_for(x.kind());
    e.message = x.what();
  } catch (const SqlError& x) {
    e.code = x.code();
    e.message = x.what();
  } catch (const MessageTooLarge& x) {
    e.code = sqlstate::kProgramLimitExceeded;
    e.message = x.what();
  } catch (const ProtocolViolation& x) {
    e.code = sqlstate::kProtocolViolation;
    e.message = x.what();
  } catch (const std::bad_alloc&) {
    e.code = sqlstate::kOutOfMemory;
    e.message = "out of memory";
  } catch (const std::exception& x) {
    e.code = sqlstate::kInternalError;
    e.message = x.what();
  }
  return e;
}

void write_error(MessageWriter& w, const ErrorInfo& e, bool notice) {
  w.begin(notice ? 'N' : 'E');
  // 'S' is localizable, 'V' is not (clients since 9.6 read 'V').
  w.i8('S').cstr(e.severity).i8('V').cstr(e.severity).i8('C').cstr(e.code).i8('M').cstr(e.message);
  if (!e.detail.empty()) w.i8('D').cstr(e.detail);
  if (e.position > 0) w.i8('P').cstr(std::to_string(e.position));
  w.i8(0).end();
}

}  // namespace cdb::server
