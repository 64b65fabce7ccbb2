#include "language/parser.h"

#include <string>

#include "language/keywords.h"
#include "language/lexer.h"
#include "language/parse_error.h"

namespace cdb::lang {

namespace {

std::string join_alternatives(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? " or " : ", ";
    out += items[i];
  }
  return out;
}

// Parses one script. Holds exactly one token of lookahead (`cur_`); the
// lexer has read nothing past it, which is what lets SELECT hand the rest
// of its statement to Lexer::skip_to_terminator().
//
// Error messages list everything that was tried at the current token:
// each failed accept_*() records what it looked for in `expected_`, which
// is cleared whenever a token is consumed. So after "ASK 'q' USING a b"
// the message is "expected ',', WITH or ';', found 'b'" without any
// statement-specific code.
class Parser {
 public:
  explicit Parser(std::string_view source) : lex_(source), cur_(lex_.next()) {}

  std::vector<Statement> script() {
    std::vector<Statement> out;
    for (;;) {
      while (at_symbol(';')) take();
      if (cur_.kind == TokenKind::End) return out;
      out.push_back(statement());
      if (cur_.kind != TokenKind::End && !accept_symbol(';')) fail_expected();
    }
  }

 private:
  // --- token handling ------------------------------------------------------

  void take() {
    last_end_ = cur_.end;
    cur_ = lex_.next();
    expected_.clear();
  }

  bool at_symbol(char c) const { return cur_.kind == TokenKind::Symbol && cur_.text[0] == c; }
  bool at_keyword(std::string_view kw) const { return cur_.kind == TokenKind::Word && iequals(cur_.text, kw); }

  bool accept_symbol(char c) {
    if (at_symbol(c)) {
      take();
      return true;
    }
    expected_.push_back(std::string("'") + c + "'");
    return false;
  }

  bool accept_keyword(std::string_view kw) {
    if (at_keyword(kw)) {
      take();
      return true;
    }
    expected_.emplace_back(kw);
    return false;
  }

  void expect_symbol(char c) {
    if (!accept_symbol(c)) fail_expected();
  }
  void expect_keyword(std::string_view kw) {
    if (!accept_keyword(kw)) fail_expected();
  }

  [[noreturn]] void fail(const std::string& detail) const { throw ParseError(cur_.pos, detail); }

  [[noreturn]] void fail_expected() const {
    fail("expected " + join_alternatives(expected_) + ", found " + describe(cur_));
  }

  // --- terminals -------------------------------------------------------------

  // A corpus name: a bare word (lowered) that is not a reserved word, or a
  // "quoted name" (exact).
  std::string name(std::string_view what) {
    if (cur_.kind == TokenKind::QuotedName || (cur_.kind == TokenKind::Word && !is_reserved(cur_.text))) {
      std::string n = cur_.kind == TokenKind::Word ? ascii_lower(cur_.text) : cur_.text;
      take();
      return n;
    }
    expected_.emplace_back(what);
    if (cur_.kind == TokenKind::Word) {
      fail("expected " + join_alternatives(expected_) + ", found reserved word " + describe(cur_) +
           " (write \"" + ascii_lower(cur_.text) + "\" to use it as a name)");
    }
    fail_expected();
  }

  std::string string_literal(std::string_view what) {
    if (cur_.kind == TokenKind::String) {
      std::string s = cur_.text;
      take();
      return s;
    }
    expected_.emplace_back(what);
    fail_expected();
  }

  std::int64_t job_id() {
    if (cur_.kind == TokenKind::Integer) {
      if (cur_.integer < 0) fail("job id must not be negative, found " + cur_.text);
      const std::int64_t id = cur_.integer;
      take();
      return id;
    }
    expected_.emplace_back("a job id (an integer)");
    fail_expected();
  }

  Value value() {
    Value v;
    switch (cur_.kind) {
      case TokenKind::Integer: v = cur_.integer; break;
      case TokenKind::Float: v = cur_.real; break;
      case TokenKind::String: v = cur_.text; break;
      case TokenKind::Word:
        if (iequals(cur_.text, "true") || iequals(cur_.text, "false")) {
          v = iequals(cur_.text, "true");
          break;
        }
        [[fallthrough]];
      default:
        expected_.emplace_back("a value (a number, a 'string', TRUE or FALSE)");
        fail_expected();
    }
    take();
    return v;
  }

  // key = value, the key any word (keywords included: they cannot be
  // confused there), lowered.
  Option option() {
    if (cur_.kind != TokenKind::Word) {
      expected_.emplace_back("an option name");
      fail_expected();
    }
    Option o;
    o.key = ascii_lower(cur_.text);
    o.key_pos = cur_.pos;
    take();
    expect_symbol('=');
    o.value_pos = cur_.pos;
    o.value = value();
    return o;
  }

  // [WITH ( option {, option} )]
  Options with_options() {
    Options opts;
    if (!accept_keyword("WITH")) return opts;
    expect_symbol('(');
    do {
      opts.add(option());
    } while (accept_symbol(','));
    expect_symbol(')');
    return opts;
  }

  // --- statements --------------------------------------------------------------

  Statement statement() {
    const SourcePos begin = cur_.pos;
    Statement s = dispatch();
    std::visit([&](auto& st) { st.span = SourceSpan{begin, last_end_}; }, s);
    return s;
  }

  Statement dispatch() {
    // SELECT is looked at, not taken: its text is read raw from here.
    if (at_keyword("SELECT")) return raw_select();
    if (accept_keyword("CREATE")) return create();
    if (accept_keyword("ADD")) return add();
    if (accept_keyword("LOAD")) return load();
    if (accept_keyword("REMOVE")) return remove();
    if (accept_keyword("DROP")) return drop();
    if (accept_keyword("SHOW")) return show();
    if (accept_keyword("TRAIN")) return train();
    if (accept_keyword("WAIT")) return WaitJob{{}, job_after_keyword()};
    if (accept_keyword("CANCEL")) return CancelJob{{}, job_after_keyword()};
    if (at_keyword("ASK")) return ask();
    if (accept_keyword("EXPLAIN")) return Explain{{}, ask()};
    if (accept_keyword("PIN")) return PinCartridge{{}, cartridge_for()};
    if (accept_keyword("UNPIN")) return UnpinCartridge{{}, cartridge_for()};
    if (accept_keyword("SET")) return set();
    if (accept_keyword("GRANT")) return usage<GrantUsage>("TO");
    if (accept_keyword("REVOKE")) return usage<RevokeUsage>("FROM");
    fail("expected a statement (CREATE, ADD, LOAD, REMOVE, DROP, SHOW, TRAIN, WAIT, CANCEL, ASK, EXPLAIN, "
         "PIN, UNPIN, SET, GRANT, REVOKE or SELECT), found " +
         describe(cur_));
  }

  Statement create() {
    expect_keyword("CORPUS");
    CreateCorpus s;
    s.name = name("a corpus name");
    s.options = with_options();
    return s;
  }

  Statement add() {
    expect_keyword("DOCUMENT");
    AddDocument s;
    s.text = string_literal("the document text (a 'string')");
    if (accept_keyword("AS")) s.name = string_literal("a document name (a 'string')");
    expect_keyword("TO");
    s.corpus = name("a corpus name");
    return s;
  }

  Statement load() {
    if (accept_keyword("FILE")) {
      LoadFile s;
      s.path = string_literal("a file path (a 'string')");
      expect_keyword("INTO");
      s.corpus = name("a corpus name");
      return s;
    }
    expect_keyword("DIRECTORY");
    LoadDirectory s;
    s.path = string_literal("a directory path (a 'string')");
    if (accept_keyword("PATTERN")) s.pattern = string_literal("a file pattern (a 'string')");
    expect_keyword("INTO");
    s.corpus = name("a corpus name");
    return s;
  }

  Statement remove() {
    expect_keyword("DOCUMENT");
    RemoveDocument s;
    s.name = string_literal("a document name (a 'string')");
    expect_keyword("FROM");
    s.corpus = name("a corpus name");
    return s;
  }

  Statement drop() {
    expect_keyword("CORPUS");
    return DropCorpus{{}, name("a corpus name")};
  }

  Statement show() {
    if (accept_keyword("CORPORA")) return ShowCorpora{};
    if (accept_keyword("DOCUMENTS")) {
      expect_keyword("IN");
      return ShowDocuments{{}, name("a corpus name")};
    }
    if (accept_keyword("CARTRIDGES")) {
      ShowCartridges s;
      if (accept_keyword("FOR")) s.corpus = name("a corpus name");
      return s;
    }
    if (accept_keyword("JOBS")) return ShowJobs{};
    if (accept_keyword("CACHE")) return ShowCache{};
    if (accept_keyword("NODES")) return ShowNodes{};
    expect_keyword("MODEL");
    return ShowModel{};
  }

  Statement train() {
    TrainCartridge s;
    s.corpus = cartridge_for();
    s.options = with_options();
    s.wait = accept_keyword("WAIT");
    return s;
  }

  std::int64_t job_after_keyword() {
    expect_keyword("JOB");
    return job_id();
  }

  // CARTRIDGE FOR name, shared by TRAIN, PIN and UNPIN.
  std::string cartridge_for() {
    expect_keyword("CARTRIDGE");
    expect_keyword("FOR");
    return name("a corpus name");
  }

  // USAGE ON CORPUS name {TO | FROM} grantee: the rest of GRANT and REVOKE.
  template <typename T>
  Statement usage(std::string_view preposition) {
    T s;
    expect_keyword("USAGE");
    expect_keyword("ON");
    expect_keyword("CORPUS");
    s.corpus = name("a corpus name");
    expect_keyword(preposition);
    s.grantee = grantee();
    return s;
  }

  // A user name (as a corpus name: bare lowered, "quoted" exact) or PUBLIC.
  std::string grantee() {
    if (accept_keyword("PUBLIC")) return std::string(kPublic);
    return name("a user name or PUBLIC");
  }

  // ASK ..., with its own span (EXPLAIN's Ask starts at ASK, not EXPLAIN).
  Ask ask() {
    const SourcePos begin = cur_.pos;
    expect_keyword("ASK");
    Ask s;
    s.question = string_literal("the question (a 'string')");
    expect_keyword("USING");
    do {
      const SourcePos at = cur_.pos;
      std::string corpus = name("a corpus name");
      for (const std::string& c : s.corpora) {
        if (c == corpus) throw ParseError(at, "corpus '" + corpus + "' is listed twice in USING");
      }
      s.corpora.push_back(std::move(corpus));
    } while (accept_symbol(','));
    s.options = with_options();
    s.span = SourceSpan{begin, last_end_};
    return s;
  }

  Statement set() {
    Set s;
    if (cur_.kind != TokenKind::Word) {
      expected_.emplace_back("a setting name");
      fail_expected();
    }
    s.setting.key = ascii_lower(cur_.text);
    s.setting.key_pos = cur_.pos;
    take();
    expect_symbol('=');
    s.setting.value_pos = cur_.pos;
    s.setting.value = value();
    return s;
  }

  Statement raw_select() {
    const std::size_t begin = cur_.pos.offset;
    const std::size_t end = lex_.skip_to_terminator();
    RawSelect s;
    s.text = std::string(lex_.source().substr(begin, end - begin));
    last_end_ = end;
    cur_ = lex_.next();
    expected_.clear();
    return s;
  }

  Lexer lex_;
  Token cur_;
  std::size_t last_end_ = 0;           // end of the last consumed token
  std::vector<std::string> expected_;  // what was tried at cur_, for messages
};

}  // namespace

std::vector<Statement> parse_script(std::string_view script) { return Parser(script).script(); }

Statement parse_statement(std::string_view text) {
  std::vector<Statement> statements = parse_script(text);
  if (statements.size() == 1) return std::move(statements.front());
  if (statements.empty()) {
    Lexer lexer(text);  // only ';' and comments: point at the end
    Token t = lexer.next();
    while (t.kind != TokenKind::End) t = lexer.next();
    throw ParseError(t.pos, "expected a statement, found end of input");
  }
  throw ParseError(span_of(statements[1]).begin, "expected one statement, found a second one");
}

}  // namespace cdb::lang
