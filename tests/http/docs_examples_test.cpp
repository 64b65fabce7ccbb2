// The ```js example of docs/http.md runs, unmodified, against a real server:
// the docs test (tests/docs) runs only sql and sh blocks, and an example
// that is never run rots.
#include <gtest/gtest.h>

#include "http/http_server_process.h"

namespace cdb::test {
namespace {

// The text of the first fenced block of `lang` in `markdown`.
std::string fenced_block(const std::string& markdown, const std::string& lang) {
  const std::string open = "```" + lang + "\n";
  const size_t start = markdown.find(open);
  if (start == std::string::npos) return "";
  const size_t body = start + open.size();
  return markdown.substr(body, markdown.find("\n```", body) + 1 - body);
}

TEST(HttpDocs, TheJavaScriptExampleRunsAndPrintsTheAnswerTwice) {
  const std::string js = fenced_block(read_text(std::string(CDB_SOURCE_DIR) + "/docs/http.md"), "js");
  ASSERT_NE(js.find("require('openai')"), std::string::npos) << js;
  HttpServerProcess server;
  ASSERT_EQ(server.pg().psql(kSetupPets).status, 0);
  const auto r = server.node("example.js", js, "OPENAI_BASE_URL=" + shell_quote(server.url("/v1")));
  ASSERT_EQ(r.status, 0) << r.output << server.pg().log();
  const auto ask = server.pg().psql_rows("ASK 'Mia has a cat' USING pets WITH (max_tokens = 16)");
  const std::string answer = ask.output.substr(0, ask.output.find('|'));
  ASSERT_FALSE(answer.empty()) << ask.output;
  EXPECT_EQ(r.output, answer + "\n" + answer + "\n");
}

}  // namespace
}  // namespace cdb::test
