// SseWriter: Server-Sent Events as OpenAI streams them: each event one
// `data: <json>` line and a blank line, the stream ending with
// `data: [DONE]`. It only frames; what goes in the JSON is the handler's.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "http/response_stream.h"

namespace cdb::http {

class SseWriter {
 public:
  explicit SseWriter(ResponseStream& out) : out_(out) {}
  bool begin() { return ok_ = ok_ && out_.begin_events(); }
  // false once the client is gone (and from then on).
  bool event(const nlohmann::json& data);
  bool done();
  bool ok() const { return ok_; }

 private:
  ResponseStream& out_;
  bool ok_ = true;
};

// One `data:` event's bytes.
std::string sse_event(const std::string& data);

}  // namespace cdb::http
