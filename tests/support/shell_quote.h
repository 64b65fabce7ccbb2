// A string quoted for /bin/sh: in single quotes, each ' written as '\''.
// For the tests that build a command line for popen or system.
#pragma once

#include <string>

namespace cdb::test {

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace cdb::test
