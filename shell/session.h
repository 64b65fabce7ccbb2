// Where statements run: the engine embedded in this process, or a
// `cartridge serve` reached over the PostgreSQL protocol. The shell only
// sees this interface, so every feature works the same way on both.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "cartridgedb/cartridgedb.h"

namespace cdb::shell {

struct StatementEvents {
  std::function<void(std::string_view)> on_token;                   // ASK, when the session streams
  std::function<void(const cartridgedb::Progress&)> on_progress;    // embedded WAIT
  std::function<void(std::string_view)> on_notice;                  // remote: a server's notice
  std::function<bool()> is_cancelled;                               // polled while it runs
};

class Session {
 public:
  virtual ~Session() = default;

  // Runs exactly one statement. Throws the cartridgedb error types:
  // ParseError (with the position in `statement`), Cancelled when
  // is_cancelled stopped it, another Error for anything else.
  virtual cartridgedb::Result run(std::string_view statement, const StatementEvents& events) = 0;

  // The corpora there are now, for tab completion.
  virtual std::vector<std::string> corpus_names() = 0;

  // Short name for the prompt: the data directory's, or host:port.
  virtual std::string name() const = 0;
};

}  // namespace cdb::shell
