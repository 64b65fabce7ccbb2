// PgTypes: a result column's type (as the engine names it: int8, float8,
// text, bool, timestamptz, json, oid, name, ...) as PostgreSQL sends it:
// its OID and size for RowDescription, and each value in text or binary
// format.
//
// Contract:
// - type_oid() maps PostgreSQL's type names to their OIDs (facts:
//   int8 20, int4 23, int2 21, text 25, float8 701, float4 700, bool 16,
//   json 114, timestamptz 1184, name 19, oid 26, char 18, varchar 1043,
//   regproc 24, bytea 17, ...); an unknown or empty name is text (25).
// - text_value() is PostgreSQL's text output: bool "t"/"f" (the engine says
//   0/1), timestamptz "2026-01-02 03:04:05.678+00" (the catalog stores ISO
//   8601 "...T...Z"); other types as they are.
// - is_null(): an empty cell of a type whose text can never be empty (a
//   number, bool, timestamp) is SQL NULL (the engine's rows are strings).
// - binary_value() is PostgreSQL's binary send format (big-endian integers,
//   IEEE floats, one byte for bool, microseconds since 2000-01-01 for
//   timestamptz, the bytes for text-like types and json). A type without
//   one (has_binary() false) must not be asked for in binary: the session
//   refuses that with 42883, as PostgreSQL does for a type without a send
//   function. A value that does not parse as its type throws
//   std::invalid_argument.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cdb::server {

int32_t type_oid(std::string_view type_name);
int16_t type_size(int32_t oid);  // -1: variable length
bool has_binary(int32_t oid);
bool is_null(int32_t oid, std::string_view cell);
std::string text_value(int32_t oid, std::string_view cell);
std::string binary_value(int32_t oid, std::string_view cell);

}  // namespace cdb::server
