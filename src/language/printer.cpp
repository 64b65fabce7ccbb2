#include "language/printer.h"

#include "language/keywords.h"

namespace cdb::lang {

namespace {

std::string options_text(const Options& options) {
  if (options.empty()) return "";
  std::string out = " WITH (";
  bool first = true;
  for (const Option& o : options) {
    if (!first) out += ", ";
    first = false;
    // Keys are lower-case words; any word is accepted as a key, so no quoting.
    out += o.key + " = " + to_string(o.value);
  }
  return out + ")";
}

// One overload per statement; a new statement that lacks one fails to compile.
std::string print(const CreateCorpus& s) { return "CREATE CORPUS " + quote_name(s.name) + options_text(s.options); }
std::string print(const AddDocument& s) {
  return "ADD DOCUMENT " + quote_string(s.text) + (s.name ? " AS " + quote_string(*s.name) : "") + " TO " +
         quote_name(s.corpus);
}
std::string print(const LoadFile& s) { return "LOAD FILE " + quote_string(s.path) + " INTO " + quote_name(s.corpus); }
std::string print(const LoadDirectory& s) {
  return "LOAD DIRECTORY " + quote_string(s.path) + (s.pattern ? " PATTERN " + quote_string(*s.pattern) : "") +
         " INTO " + quote_name(s.corpus);
}
std::string print(const RemoveDocument& s) {
  return "REMOVE DOCUMENT " + quote_string(s.name) + " FROM " + quote_name(s.corpus);
}
std::string print(const DropCorpus& s) { return "DROP CORPUS " + quote_name(s.name); }
std::string print(const ShowCorpora&) { return "SHOW CORPORA"; }
std::string print(const ShowDocuments& s) { return "SHOW DOCUMENTS IN " + quote_name(s.corpus); }
std::string print(const ShowCartridges& s) {
  return "SHOW CARTRIDGES" + (s.corpus ? " FOR " + quote_name(*s.corpus) : std::string());
}
std::string print(const ShowJobs&) { return "SHOW JOBS"; }
std::string print(const ShowCache&) { return "SHOW CACHE"; }
std::string print(const ShowNodes&) { return "SHOW NODES"; }
std::string print(const ShowModel&) { return "SHOW MODEL"; }
std::string print(const TrainCartridge& s) {
  return "TRAIN CARTRIDGE FOR " + quote_name(s.corpus) + options_text(s.options) + (s.wait ? " WAIT" : "");
}
std::string print(const WaitJob& s) { return "WAIT JOB " + std::to_string(s.job); }
std::string print(const CancelJob& s) { return "CANCEL JOB " + std::to_string(s.job); }
std::string print(const Ask& s) {
  std::string out = "ASK " + quote_string(s.question) + " USING ";
  for (std::size_t i = 0; i < s.corpora.size(); ++i) out += (i ? ", " : "") + quote_name(s.corpora[i]);
  return out + options_text(s.options);
}
std::string print(const Explain& s) { return "EXPLAIN " + print(s.ask); }
std::string print(const PinCartridge& s) { return "PIN CARTRIDGE FOR " + quote_name(s.corpus); }
std::string print(const UnpinCartridge& s) { return "UNPIN CARTRIDGE FOR " + quote_name(s.corpus); }
std::string print(const Set& s) { return "SET " + s.setting.key + " = " + to_string(s.setting.value); }
std::string print(const RawSelect& s) { return s.text; }
std::string grantee_text(const std::string& grantee) {
  return grantee == kPublic ? std::string("PUBLIC") : quote_name(grantee);
}
std::string print(const GrantUsage& s) {
  return "GRANT USAGE ON CORPUS " + quote_name(s.corpus) + " TO " + grantee_text(s.grantee);
}
std::string print(const RevokeUsage& s) {
  return "REVOKE USAGE ON CORPUS " + quote_name(s.corpus) + " FROM " + grantee_text(s.grantee);
}

bool is_plain_name(std::string_view name) {
  if (name.empty() || is_reserved(name)) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string to_string(const Statement& statement) {
  return std::visit([](const auto& s) { return print(s); }, statement);
}

std::string to_string(const std::vector<Statement>& script) {
  std::string out;
  for (const Statement& s : script) out += to_string(s) + ";\n";
  return out;
}

std::string quote_name(std::string_view name) {
  if (is_plain_name(name)) return std::string(name);
  std::string out = "\"";
  for (char c : name) {
    out += c;
    if (c == '"') out += '"';
  }
  return out + "\"";
}

}  // namespace cdb::lang
