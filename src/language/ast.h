// The statements of the query language, as the parser produces them and
// the planner consumes them: one struct per statement form, gathered in
// the Statement variant.
//
// Names of corpora are normalized by the parser: a bare name is lowered
// (Docs and docs are the same corpus, as unquoted SQL identifiers are), a
// "double-quoted" name is kept exactly.
//
// Equality is semantic: it compares what a statement says, not where it
// was written, so that parse(to_string(s)) == s holds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "language/options.h"
#include "language/token.h"

namespace cdb::lang {

// The source text of one statement: from its first token to just past its
// last (the terminating ';' is not part of it), e.g. for a shell to echo
// it. Spans are provenance, not meaning, hence always compare equal.
struct SourceSpan {
  SourcePos begin;
  std::size_t end = 0;  // byte offset just past the statement

  std::size_t length() const { return end - begin.offset; }
  friend bool operator==(const SourceSpan&, const SourceSpan&) { return true; }
};

// CREATE CORPUS name [WITH (...)]
struct CreateCorpus {
  SourceSpan span;
  std::string name;
  Options options;
  bool operator==(const CreateCorpus&) const = default;
};

// ADD DOCUMENT 'text' [AS 'name'] TO corpus
struct AddDocument {
  SourceSpan span;
  std::string text;
  std::optional<std::string> name;
  std::string corpus;
  bool operator==(const AddDocument&) const = default;
};

// LOAD FILE 'path' INTO corpus
struct LoadFile {
  SourceSpan span;
  std::string path;
  std::string corpus;
  bool operator==(const LoadFile&) const = default;
};

// LOAD DIRECTORY 'path' [PATTERN 'glob'] INTO corpus
struct LoadDirectory {
  SourceSpan span;
  std::string path;
  std::optional<std::string> pattern;
  std::string corpus;
  bool operator==(const LoadDirectory&) const = default;
};

// REMOVE DOCUMENT 'name' FROM corpus
struct RemoveDocument {
  SourceSpan span;
  std::string name;
  std::string corpus;
  bool operator==(const RemoveDocument&) const = default;
};

// DROP CORPUS name
struct DropCorpus {
  SourceSpan span;
  std::string name;
  bool operator==(const DropCorpus&) const = default;
};

// SHOW CORPORA
struct ShowCorpora {
  SourceSpan span;
  bool operator==(const ShowCorpora&) const = default;
};

// SHOW DOCUMENTS IN corpus
struct ShowDocuments {
  SourceSpan span;
  std::string corpus;
  bool operator==(const ShowDocuments&) const = default;
};

// SHOW CARTRIDGES [FOR corpus]
struct ShowCartridges {
  SourceSpan span;
  std::optional<std::string> corpus;  // none: every corpus
  bool operator==(const ShowCartridges&) const = default;
};

// SHOW JOBS
struct ShowJobs {
  SourceSpan span;
  bool operator==(const ShowJobs&) const = default;
};

// SHOW CACHE
struct ShowCache {
  SourceSpan span;
  bool operator==(const ShowCache&) const = default;
};

// SHOW MODEL
struct ShowModel {
  SourceSpan span;
  bool operator==(const ShowModel&) const = default;
};

// SHOW NODES: the serve nodes sharing the catalog (cluster/node_directory.h)
struct ShowNodes {
  SourceSpan span;
  bool operator==(const ShowNodes&) const = default;
};

// TRAIN CARTRIDGE FOR corpus [WITH (...)] [WAIT]
struct TrainCartridge {
  SourceSpan span;
  std::string corpus;
  Options options;
  bool wait = false;  // block until the job ends instead of returning its id
  bool operator==(const TrainCartridge&) const = default;
};

// WAIT JOB id
struct WaitJob {
  SourceSpan span;
  std::int64_t job = 0;  // non-negative
  bool operator==(const WaitJob&) const = default;
};

// CANCEL JOB id
struct CancelJob {
  SourceSpan span;
  std::int64_t job = 0;  // non-negative
  bool operator==(const CancelJob&) const = default;
};

// ASK 'question' USING corpus [, corpus ...] [WITH (...)]
struct Ask {
  SourceSpan span;
  std::string question;
  std::vector<std::string> corpora;  // at least one, no duplicates, in order
  Options options;
  bool operator==(const Ask&) const = default;
};

// EXPLAIN ASK ...: plans the question without running it.
struct Explain {
  SourceSpan span;
  Ask ask;  // its span starts at ASK
  bool operator==(const Explain&) const = default;
};

// PIN CARTRIDGE FOR corpus
struct PinCartridge {
  SourceSpan span;
  std::string corpus;
  bool operator==(const PinCartridge&) const = default;
};

// UNPIN CARTRIDGE FOR corpus
struct UnpinCartridge {
  SourceSpan span;
  std::string corpus;
  bool operator==(const UnpinCartridge&) const = default;
};

// SET name = value. The setting is an Option (key lowered, positions of
// name and value) so the planner checks it with the same typed accessors.
struct Set {
  SourceSpan span;
  Option setting;
  bool operator==(const Set&) const = default;
};

// SELECT ...: passed to the catalog verbatim. `text` runs from SELECT to the
// terminating ';' (quotes respected), without trailing whitespace or
// comments; its case and spacing are as written.
struct RawSelect {
  SourceSpan span;
  std::string text;
  bool operator==(const RawSelect&) const = default;
};

// The grantee "public" is PUBLIC: every user (no user may be named public).
inline constexpr std::string_view kPublic = "public";

// GRANT USAGE ON CORPUS corpus TO {user | PUBLIC}
struct GrantUsage {
  SourceSpan span;
  std::string corpus;
  std::string grantee;  // a user name (normalized as corpus names are), or kPublic
  bool operator==(const GrantUsage&) const = default;
};

// REVOKE USAGE ON CORPUS corpus FROM {user | PUBLIC}
struct RevokeUsage {
  SourceSpan span;
  std::string corpus;
  std::string grantee;
  bool operator==(const RevokeUsage&) const = default;
};

using Statement =
    std::variant<CreateCorpus, AddDocument, LoadFile, LoadDirectory, RemoveDocument, DropCorpus, ShowCorpora,
                 ShowDocuments, ShowCartridges, ShowJobs, ShowCache, ShowModel, ShowNodes, TrainCartridge, WaitJob,
                 CancelJob, Ask, Explain, PinCartridge, UnpinCartridge, Set, RawSelect, GrantUsage, RevokeUsage>;

const SourceSpan& span_of(const Statement& statement);

// The statement's form in upper case, e.g. "CREATE CORPUS", "SHOW JOBS",
// "SELECT": for logs and for error messages about a whole statement.
std::string_view statement_name(const Statement& statement);

}  // namespace cdb::lang
