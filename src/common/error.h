// Typed errors. Every failure a user can cause or meet (bad input, a
// corrupt file, a full disk) surfaces as one of these, with a message that
// names the thing at fault (file, key, tensor, position) and, where one
// exists, what to do about it. Each carries its ErrorKind as a field, so
// that a boundary (the public API, a front end) maps it with one switch
// instead of a catch per class; a bare Error is Internal: a bug.
#pragma once

#include <stdexcept>
#include <string>

namespace cdb {

// One per class below, plus Internal for a bare Error.
enum class ErrorKind {
  Internal,
  InvalidArgument,
  NotFound,
  CorruptData,
  Unsupported,
  IoError,
  ResourceExhausted,
  Cancelled,
  PermissionDenied,
  LimitExceeded,
  QuotaExceeded,
  JobFailed,
  UndefinedObject,
};

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : Error(ErrorKind::Internal, message) {}
  ErrorKind kind() const { return kind_; }

 protected:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}

 private:
  ErrorKind kind_;
};

// The caller passed something malformed: unknown dtype, impossible shape,
// a key that is too long, an out-of-range option.
class InvalidArgument : public Error {
 public:
  explicit InvalidArgument(const std::string& message) : Error(ErrorKind::InvalidArgument, message) {}
};

// A named thing (key, corpus, file, tensor) does not exist.
class NotFound : public Error {
 public:
  explicit NotFound(const std::string& message) : Error(ErrorKind::NotFound, message) {}
};

// Stored bytes fail verification: bad magic, truncated header, checksum
// mismatch. Never served; the message names the key or file.
class CorruptData : public Error {
 public:
  explicit CorruptData(const std::string& message) : Error(ErrorKind::CorruptData, message) {}
};

// A file or model uses a feature this build does not support.
class Unsupported : public Error {
 public:
  explicit Unsupported(const std::string& message) : Error(ErrorKind::Unsupported, message) {}
};

// An operating-system or library call failed (open, mmap, LMDB, SQLite).
class IoError : public Error {
 public:
  explicit IoError(const std::string& message) : Error(ErrorKind::IoError, message) {}
};

// A memory budget cannot hold what was asked for (a Cartridge larger than
// the device budget, every resident Cartridge in use past a wait limit).
class ResourceExhausted : public Error {
 public:
  explicit ResourceExhausted(const std::string& message) : Error(ErrorKind::ResourceExhausted, message) {}
};

// Work stopped on request (CANCEL JOB, Ctrl-C, shutdown).
class Cancelled : public Error {
 public:
  explicit Cancelled(const std::string& message) : Error(ErrorKind::Cancelled, message) {}
};

// The session's role may not do this (drop another user's corpus, read
// server files without the right). The message names what is missing.
class PermissionDenied : public Error {
 public:
  explicit PermissionDenied(const std::string& message) : Error(ErrorKind::PermissionDenied, message) {}
};

// A statement went past a fixed limit of the system (rows or bytes of a
// result, the length of a value). Never truncated silently: the message
// names the limit.
class LimitExceeded : public Error {
 public:
  explicit LimitExceeded(const std::string& message) : Error(ErrorKind::LimitExceeded, message) {}
};

// A named setting (or other named object that is not data: a corpus is
// NotFound) does not exist; PostgreSQL's undefined_object. The message
// names it and, where there is a list, what exists.
class UndefinedObject : public Error {
 public:
  explicit UndefinedObject(const std::string& message) : Error(ErrorKind::UndefinedObject, message) {}
};

// A user's quota (queued jobs, corpora, bytes stored, steps per job) is
// reached. The message names the quota and its value.
class QuotaExceeded : public Error {
 public:
  explicit QuotaExceeded(const std::string& message) : Error(ErrorKind::QuotaExceeded, message) {}
};

// A training job the statement waited for (TRAIN ... WAIT, WAIT JOB)
// ended in failure. The message names the job and the job's own error.
class JobFailed : public Error {
 public:
  explicit JobFailed(const std::string& message) : Error(ErrorKind::JobFailed, message) {}
};

}  // namespace cdb
