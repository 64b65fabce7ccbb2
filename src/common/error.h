// Typed errors. Every failure a user can cause or meet (bad input, a
// corrupt file, a full disk) surfaces as one of these, with a message that
// names the thing at fault (file, key, tensor, position) and, where one
// exists, what to do about it.
#pragma once

#include <stdexcept>
#include <string>

namespace cdb {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The caller passed something malformed: unknown dtype, impossible shape,
// a key that is too long, an out-of-range option.
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

// A named thing (key, corpus, file, tensor) does not exist.
class NotFound : public Error {
 public:
  using Error::Error;
};

// Stored bytes fail verification: bad magic, truncated header, checksum
// mismatch. Never served; the message names the key or file.
class CorruptData : public Error {
 public:
  using Error::Error;
};

// A file or model uses a feature this build does not support.
class Unsupported : public Error {
 public:
  using Error::Error;
};

// An operating-system or library call failed (open, mmap, LMDB, SQLite).
class IoError : public Error {
 public:
  using Error::Error;
};

// A memory budget cannot hold what was asked for (a Cartridge larger than
// the device budget, every resident Cartridge in use past a wait limit).
class ResourceExhausted : public Error {
 public:
  using Error::Error;
};

// Work stopped on request (CANCEL JOB, Ctrl-C, shutdown).
class Cancelled : public Error {
 public:
  using Error::Error;
};

// The session's role may not do this (drop another user's corpus, read
// server files without the right). The message names what is missing.
class PermissionDenied : public Error {
 public:
  using Error::Error;
};

// A statement went past a fixed limit of the system (rows or bytes of a
// result, the length of a value). Never truncated silently: the message
// names the limit.
class LimitExceeded : public Error {
 public:
  using Error::Error;
};

// A named setting (or other named object that is not data: a corpus is
// NotFound) does not exist; PostgreSQL's undefined_object. The message
// names it and, where there is a list, what exists.
class UndefinedObject : public Error {
 public:
  using Error::Error;
};

// A user's quota (queued jobs, corpora, bytes stored, steps per job) is
// reached. The message names the quota and its value.
class QuotaExceeded : public Error {
 public:
  using Error::Error;
};

}  // namespace cdb
