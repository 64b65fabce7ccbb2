#define PCRE2_CODE_UNIT_WIDTH 8
#include "engine/tokenizer/pcre2_regex.h"

#include <pcre2.h>

#include "common/error.h"

namespace cdb {

namespace {

std::string pcre2_message(int code) {
  PCRE2_UCHAR buf[256];
  pcre2_get_error_message(code, buf, sizeof buf);
  return reinterpret_cast<const char*>(buf);
}

struct MatchDataDeleter {
  void operator()(pcre2_match_data* m) const { pcre2_match_data_free(m); }
};
struct MatchContextDeleter {
  void operator()(pcre2_match_context* c) const { pcre2_match_context_free(c); }
};
struct JitStackDeleter {
  void operator()(pcre2_jit_stack* s) const { pcre2_jit_stack_free(s); }
};

}  // namespace

void Pcre2Regex::CodeDeleter::operator()(pcre2_real_code_8* code) const { pcre2_code_free(code); }

Pcre2Regex::Pcre2Regex(std::string_view pattern, const std::string& where) : pattern_(pattern) {
  int err = 0;
  PCRE2_SIZE offset = 0;
  code_.reset(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF | PCRE2_UCP, &err,
                            &offset, nullptr));
  if (!code_) {
    throw Unsupported(where + ": pre-tokenizer regex does not compile at pattern offset " + std::to_string(offset) +
                      ": " + pcre2_message(err));
  }
  // JIT is an optimisation only: without it (e.g. an architecture PCRE2 has
  // no JIT for) the interpreter gives the same matches.
  jit_ = pcre2_jit_compile(code_.get(), PCRE2_JIT_COMPLETE) == 0;
}

Pcre2Regex::~Pcre2Regex() = default;
Pcre2Regex::Pcre2Regex(Pcre2Regex&&) noexcept = default;
Pcre2Regex& Pcre2Regex::operator=(Pcre2Regex&&) noexcept = default;

std::vector<std::pair<size_t, size_t>> Pcre2Regex::find_all(std::string_view subject) const {
  std::vector<std::pair<size_t, size_t>> out;
  std::unique_ptr<pcre2_match_data, MatchDataDeleter> md(pcre2_match_data_create_from_pattern(code_.get(), nullptr));
  std::unique_ptr<pcre2_match_context, MatchContextDeleter> mctx(pcre2_match_context_create(nullptr));
  if (!md || !mctx) throw std::bad_alloc();
  // A per-call JIT stack keeps matching thread-safe and lets long runs of
  // whitespace (which `\s+(?!\S)` backtracks over) go beyond the 32 KiB default.
  std::unique_ptr<pcre2_jit_stack, JitStackDeleter> stack;
  if (jit_) {
    stack.reset(pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr));
    if (!stack) throw std::bad_alloc();
    pcre2_jit_stack_assign(mctx.get(), nullptr, stack.get());
  }
  const auto* s = reinterpret_cast<PCRE2_SPTR>(subject.data());
  size_t pos = 0;
  while (pos < subject.size()) {
    int rc = pcre2_match(code_.get(), s, subject.size(), pos, PCRE2_NO_UTF_CHECK, md.get(), mctx.get());
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      throw Error("pre-tokenizer regex failed at byte " + std::to_string(pos) + " of a " +
                  std::to_string(subject.size()) + "-byte text: " + pcre2_message(rc));
    }
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
    size_t b = ov[0], e = ov[1];
    if (e == b) {
      // An empty match would loop forever; step over one character.
      e = b + 1;
      while (e < subject.size() && (static_cast<unsigned char>(subject[e]) & 0xC0) == 0x80) ++e;
      pos = e;
      continue;
    }
    out.emplace_back(b, e);
    pos = e;
  }
  return out;
}

}  // namespace cdb
