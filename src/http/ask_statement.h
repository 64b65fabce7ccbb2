// The ASK (and EXPLAIN ASK) statement text for a completion request, so
// that an HTTP request is planned exactly as `ASK ... USING` plans it: the
// same parser, planner, roles and errors. Corpus names are written the way
// a user would type them: a bare name (lowered, as SQL identifiers are)
// when it is one, else a quoted name used exactly.
#pragma once

#include <cstdint>
#include <string>

#include "http/completion_request.h"

namespace cdb::http {

// ASK for choice `choice` (its seed is the request's seed, or 0, plus choice).
std::string ask_statement(const CompletionRequest& r, int choice);
std::string explain_statement(const CompletionRequest& r);

}  // namespace cdb::http
