// A compiled PCRE2 pattern (UTF-8, Unicode properties, JIT when available)
// for the pre-tokenizer split of tokenizer.json.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct pcre2_real_code_8;

namespace cdb {

class Pcre2Regex {
 public:
  // `where` names the pattern's origin for the error message.
  Pcre2Regex(std::string_view pattern, const std::string& where);
  ~Pcre2Regex();
  Pcre2Regex(Pcre2Regex&&) noexcept;
  Pcre2Regex& operator=(Pcre2Regex&&) noexcept;

  // [begin, end) byte ranges of the successive non-overlapping matches in
  // `subject`, which must be valid UTF-8. Thread-safe.
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view subject) const;

 private:
  struct CodeDeleter {
    void operator()(pcre2_real_code_8* code) const;
  };
  std::unique_ptr<pcre2_real_code_8, CodeDeleter> code_;
  std::string pattern_;
  bool jit_ = false;
};

}  // namespace cdb
