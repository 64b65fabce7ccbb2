#include "http/sse_writer.h"

#include <nlohmann/json.hpp>

namespace cdb::http {

std::string sse_event(const std::string& data) { return "data: " + data + "\n\n"; }

bool SseWriter::event(const nlohmann::json& data) {
  // replace: an answer may end mid-character (a token boundary inside a
  // UTF-8 sequence); the client gets U+FFFD there, never invalid JSON.
  return ok_ = ok_ && out_.write(sse_event(data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
}

bool SseWriter::done() { return ok_ = ok_ && out_.write(sse_event("[DONE]")) && out_.end(); }

}  // namespace cdb::http
