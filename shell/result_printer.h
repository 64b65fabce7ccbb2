// Turns a statement's result into text: an aligned table as psql prints it
// (or one record per block with \x), CSV (RFC 4180) or one JSON object per
// line, so that scripts can read what people read.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "cartridgedb/cartridgedb.h"

namespace cdb::shell {

enum class Format { Table, Csv, Json };

// "table", "csv" or "json"; nullopt for anything else.
std::optional<Format> parse_format(std::string_view name);

struct PrintOptions {
  Format format = Format::Table;
  bool expanded = false;       // table only: one "column | value" block per row
  std::size_t max_cell = 60;   // table (not expanded): longer cells end in "..."
};

// The whole text for `result`, ending in a newline. For an ASK in table
// format only the answer (the shell streams it instead when it can).
std::string format_result(const cartridgedb::Result& result, const PrintOptions& options);

// Characters (UTF-8 code points) in `text`: what a terminal column counts.
std::size_t display_width(std::string_view text);

}  // namespace cdb::shell
