#include "language/ast.h"

namespace cdb::lang {

namespace {

// One overload per statement; a new statement that lacks one fails to compile.
std::string_view name_of(const CreateCorpus&) { return "CREATE CORPUS"; }
std::string_view name_of(const AddDocument&) { return "ADD DOCUMENT"; }
std::string_view name_of(const LoadFile&) { return "LOAD FILE"; }
std::string_view name_of(const LoadDirectory&) { return "LOAD DIRECTORY"; }
std::string_view name_of(const RemoveDocument&) { return "REMOVE DOCUMENT"; }
std::string_view name_of(const DropCorpus&) { return "DROP CORPUS"; }
std::string_view name_of(const ShowCorpora&) { return "SHOW CORPORA"; }
std::string_view name_of(const ShowDocuments&) { return "SHOW DOCUMENTS"; }
std::string_view name_of(const ShowCartridges&) { return "SHOW CARTRIDGES"; }
std::string_view name_of(const ShowJobs&) { return "SHOW JOBS"; }
std::string_view name_of(const ShowCache&) { return "SHOW CACHE"; }
std::string_view name_of(const ShowNodes&) { return "SHOW NODES"; }
std::string_view name_of(const ShowModel&) { return "SHOW MODEL"; }
std::string_view name_of(const TrainCartridge&) { return "TRAIN CARTRIDGE"; }
std::string_view name_of(const WaitJob&) { return "WAIT JOB"; }
std::string_view name_of(const CancelJob&) { return "CANCEL JOB"; }
std::string_view name_of(const Ask&) { return "ASK"; }
std::string_view name_of(const Explain&) { return "EXPLAIN ASK"; }
std::string_view name_of(const PinCartridge&) { return "PIN CARTRIDGE"; }
std::string_view name_of(const UnpinCartridge&) { return "UNPIN CARTRIDGE"; }
std::string_view name_of(const Set&) { return "SET"; }
std::string_view name_of(const RawSelect&) { return "SELECT"; }
std::string_view name_of(const GrantUsage&) { return "GRANT"; }
std::string_view name_of(const RevokeUsage&) { return "REVOKE"; }

}  // namespace

const SourceSpan& span_of(const Statement& statement) {
  return std::visit([](const auto& s) -> const SourceSpan& { return s.span; }, statement);
}

std::string_view statement_name(const Statement& statement) {
  return std::visit([](const auto& s) { return name_of(s); }, statement);
}

}  // namespace cdb::lang
