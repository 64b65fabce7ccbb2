#include "train/probe.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "common/error.h"

namespace cdb {

std::vector<Probe> parse_probes(std::string_view jsonl, std::string_view what) {
  std::vector<Probe> out;
  size_t line_no = 0, pos = 0;
  while (pos <= jsonl.size()) {
    size_t end = jsonl.find('\n', pos);
    if (end == std::string_view::npos) end = jsonl.size();
    std::string_view line = jsonl.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    auto where = [&] { return std::string(what) + ":" + std::to_string(line_no) + ": "; };
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw InvalidArgument(where() + "not valid JSON (" + e.what() + ")");
    }
    if (!j.is_object() || !j.contains("prompt") || !j["prompt"].is_string())
      throw InvalidArgument(where() + "each line needs a string \"prompt\"");
    Probe p;
    p.prompt = j["prompt"].get<std::string>();
    if (j.contains("choices")) {
      if (!j["choices"].is_array() || j["choices"].size() < 2 || !j.contains("answer") ||
          !j["answer"].is_number_integer())
        throw InvalidArgument(where() + "\"choices\" must be an array of at least 2 strings with an integer \"answer\"");
      for (const auto& c : j["choices"]) {
        if (!c.is_string()) throw InvalidArgument(where() + "every choice must be a string");
        p.choices.push_back(c.get<std::string>());
      }
      p.answer = j["answer"].get<int>();
      if (p.answer < 0 || p.answer >= static_cast<int>(p.choices.size()))
        throw InvalidArgument(where() + "\"answer\" " + std::to_string(p.answer) + " is not an index into \"choices\"");
      p.continuation = p.choices[p.answer];
    } else {
      if (!j.contains("continuation") || !j["continuation"].is_string())
        throw InvalidArgument(where() + "needs a string \"continuation\" (or \"choices\" + \"answer\")");
      p.continuation = j["continuation"].get<std::string>();
    }
    if (p.continuation.empty()) throw InvalidArgument(where() + "empty continuation");
    out.push_back(std::move(p));
    if (end == jsonl.size()) break;
  }
  if (out.empty()) throw InvalidArgument(std::string(what) + ": no probes");
  return out;
}

std::vector<Probe> load_probes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw NotFound("probes file " + path.string() + " cannot be read");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_probes(ss.str(), path.string());
}

}  // namespace cdb
