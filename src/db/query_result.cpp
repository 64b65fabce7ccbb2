#include "db/query_result.h"

#include "common/error.h"

namespace cdb {

const std::string& QueryResult::at(size_t row, const std::string& column) const {
  for (size_t c = 0; c < columns.size(); ++c) {
    if (columns[c] != column) continue;
    if (row >= rows.size())
      throw NotFound(statement + " result has " + std::to_string(rows.size()) + " rows; row " + std::to_string(row) +
                     " does not exist");
    return rows[row].at(c);
  }
  std::string have;
  for (const auto& c : columns) have += (have.empty() ? "" : ", ") + c;
  throw NotFound(statement + " result has no column '" + column + "' (columns: " + have + ")");
}

}  // namespace cdb
