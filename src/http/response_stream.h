// ResponseStream: how a handler that answers over time (SSE) writes to its
// client without knowing the socket or TLS. The connection implements it
// (HTTP/1.1 chunked transfer coding). Calls come from the connection's own
// thread, except client_gone(), which the engine's threads poll.
#pragma once

#include <string_view>

namespace cdb::http {

class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  // The status line and headers of a 200 text/event-stream response.
  // false: the client is gone.
  virtual bool begin_events() = 0;
  virtual bool write(std::string_view bytes) = 0;
  // The end of the body; the connection may then serve its next request.
  virtual bool end() = 0;
  // Cheap and thread-safe: the client closed its side (checked between
  // tokens, so a hang-up cancels its request at the next step).
  virtual bool client_gone() const = 0;
};

}  // namespace cdb::http
