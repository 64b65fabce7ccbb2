// StopMatcher: OpenAI's `stop` sequences over a streamed answer. The engine
// knows only stop tokens, so the front door watches the text: feed() each
// piece and get back what may be sent now. Text that could still be the
// start of a stop sequence is held back until it is known not to be one
// (so a streamed client never sees part of a stop sequence); once one is
// complete, stopped() is true, nothing from it on is ever returned, and the
// caller cancels the request (freeing its batch slot).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cdb::http {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {}

  // The text that may be sent now (possibly empty).
  std::string feed(std::string_view piece);
  // The answer ended without a stop sequence: what was held back.
  std::string finish();
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
};

}  // namespace cdb::http
