// Tab completion: the language's keywords (from its lexer's table, so there
// is one list), corpus names, and meta-commands.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cdb::shell {

// The completions of `word`, given the text before it on the line and the
// corpora there are. After a word that takes a corpus (FOR, TO, INTO, IN,
// USING, CORPUS, a ',' in USING's list) only corpus names are offered.
// Keywords come back in the case the word was typed in (lower case if it
// has a lower case letter and no upper case one).
std::vector<std::string> complete(std::string_view before, std::string_view word,
                                  const std::vector<std::string>& corpora);

// The meta-commands, for completion and \?.
const std::vector<std::string>& meta_command_names();

}  // namespace cdb::shell
