#include "server/pg_dialect.h"

#include <pg_query.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <set>

#include "cartridgedb/cartridgedb.h"

namespace cdb::server {

namespace {

using json = nlohmann::json;

constexpr size_t kMaxTranslatedBytes = 64 * 1024;
constexpr int kMaxDepth = 200;
constexpr const char* kDatabase = "cartridgedb";

std::string dialect_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string pg_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string pg_ident(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

[[noreturn]] void unsupported(const std::string& what) {
  throw cartridgedb::Unsupported("the PostgreSQL-dialect translation does not support " + what +
                                 " (docs/server.md, \"PostgreSQL's catalog\")");
}

// The first keyword, after blanks and -- comments.
std::string pg_first_word(std::string_view t) {
  size_t i = 0;
  for (;;) {
    while (i < t.size() && std::isspace(static_cast<unsigned char>(t[i]))) ++i;
    if (t.substr(i, 2) == "--") {
      while (i < t.size() && t[i] != '\n') ++i;
      continue;
    }
    break;
  }
  size_t j = i;
  while (j < t.size() && std::isalpha(static_cast<unsigned char>(t[j]))) ++j;
  return dialect_lower(t.substr(i, j - i));
}

// {"String": {"sval": "x"}} lists, as strings.
std::vector<std::string> json_names(const json& list) {
  std::vector<std::string> out;
  if (!list.is_array()) return out;
  for (const auto& n : list)
    if (n.contains("String")) out.push_back(n.at("String").value("sval", ""));
  return out;
}

std::string json_str(const json& j, const char* key) { return j.contains(key) ? j[key].get<std::string>() : std::string(); }

// The relations that never have rows in this database.
const std::set<std::string> kEmptyRelations = {
    "pg_index",       "pg_constraint",      "pg_trigger",          "pg_policy",
    "pg_inherits",    "pg_rewrite",         "pg_statistic_ext",    "pg_publication",
    "pg_publication_rel", "pg_publication_namespace", "pg_enum",   "pg_sequence",
    "pg_attrdef",     "pg_description",     "pg_shdescription",    "pg_collation",
    "pg_proc",        "pg_extension",       "pg_foreign_table",    "pg_partitioned_table",
    "pg_depend"};

// Functions that only PostgreSQL has: a SELECT that calls one is
// translated.
const std::set<std::string> kPgFunctions = {
    "version", "current_database", "current_schema", "current_schemas", "current_setting", "pg_backend_pid",
    "pg_get_userbyid", "pg_table_is_visible", "pg_type_is_visible", "pg_function_is_visible",
    "has_table_privilege", "has_schema_privilege", "has_database_privilege", "has_column_privilege",
    "has_any_column_privilege", "has_function_privilege", "has_sequence_privilege", "pg_has_role",
    "obj_description", "col_description", "shobj_description", "pg_get_expr", "pg_get_indexdef",
    "pg_get_constraintdef", "pg_get_viewdef", "pg_get_triggerdef", "pg_get_serial_sequence",
    "pg_encoding_to_char", "array_to_string", "format_type", "string_agg", "json_build_object", "json_agg",
    "pg_relation_size", "pg_total_relation_size", "pg_postmaster_start_time", "inet_server_addr",
    "inet_server_port", "txid_current", "pg_is_in_recovery"};

const std::set<std::string> kAggregates = {"count", "sum", "max", "min", "avg", "string_agg", "array_agg",
                                           "json_agg", "bool_and", "bool_or", "every", "group_concat"};

class Translator {
 public:
  explicit Translator(const PgSettings& s) : settings_(s) {}

  std::string statement(const json& select) { return select_stmt(select, 0); }

 private:
  struct Depth {
    explicit Depth(int d) {
      if (d > kMaxDepth) unsupported("expressions nested more than 200 deep");
    }
  };

  // ---- SELECT ----------------------------------------------------------------

  std::string select_stmt(const json& s, int d) {
    Depth guard(d);
    std::string out;
    if (s.contains("withClause")) {
      const json& w = s.at("withClause");
      out += w.value("recursive", false) ? "WITH RECURSIVE " : "WITH ";
      bool first = true;
      for (const auto& c : w.at("ctes")) {
        const json& cte = c.at("CommonTableExpr");
        out += (first ? "" : ", ") + pg_ident(json_str(cte, "ctename"));
        if (cte.contains("aliascolnames")) {
          std::string cols;
          for (const auto& n : json_names(cte.at("aliascolnames"))) cols += (cols.empty() ? "" : ", ") + pg_ident(n);
          out += "(" + cols + ")";
        }
        out += " AS (" + select_stmt(cte.at("ctequery").at("SelectStmt"), d + 1) + ")";
        first = false;
      }
      out += " ";
    }
    const std::string op = s.value("op", "SETOP_NONE");
    if (op != "SETOP_NONE") {
      const char* word = op == "SETOP_UNION" ? " UNION " : op == "SETOP_INTERSECT" ? " INTERSECT " : " EXCEPT ";
      out += select_stmt(s.at("larg"), d + 1) + word + (s.value("all", false) ? "ALL " : "") + select_stmt(s.at("rarg"), d + 1);
    } else if (s.contains("valuesLists")) {
      std::string rows;
      for (const auto& row : s.at("valuesLists")) rows += (rows.empty() ? "" : ", ") + ("(" + list(row.at("List").at("items"), d) + ")");
      out += "VALUES " + rows;
    } else if (auto empty = empty_select(s, d)) {
      return out + *empty;  // no rows: nothing to order or limit
    } else {
      out += simple_select(s, d);
    }
    if (s.contains("sortClause")) {
      std::string keys;
      for (const auto& k : s.at("sortClause")) {
        const json& sb = k.at("SortBy");
        std::string one = expr(sb.at("node"), d + 1);
        const std::string dir = sb.value("sortby_dir", "SORTBY_DEFAULT");
        if (dir == "SORTBY_DESC") one += " DESC";
        else if (dir == "SORTBY_USING") unsupported("ORDER BY ... USING");
        const std::string nulls = sb.value("sortby_nulls", "SORTBY_NULLS_DEFAULT");
        if (nulls == "SORTBY_NULLS_FIRST") one += " NULLS FIRST";
        if (nulls == "SORTBY_NULLS_LAST") one += " NULLS LAST";
        // PostgreSQL sorts NULLs last ascending, first descending; SQLite
        // the other way round.
        if (nulls == "SORTBY_NULLS_DEFAULT") one += dir == "SORTBY_DESC" ? " NULLS FIRST" : " NULLS LAST";
        keys += (keys.empty() ? "" : ", ") + one;
      }
      out += " ORDER BY " + keys;
    }
    if (s.contains("limitCount")) out += " LIMIT " + expr(s.at("limitCount"), d + 1);
    if (s.contains("limitOffset")) out += (s.contains("limitCount") ? "" : " LIMIT -1") + (" OFFSET " + expr(s.at("limitOffset"), d + 1));
    if (s.contains("lockingClause")) unsupported("FOR UPDATE / FOR SHARE");
    return out;
  }

  std::string simple_select(const json& s, int d) {
    std::string out = "SELECT ";
    if (s.contains("distinctClause")) {
      const json& dc = s.at("distinctClause");
      if (!(dc.size() == 1 && dc.at(0).empty())) unsupported("DISTINCT ON");
      out += "DISTINCT ";
    }
    std::string targets;
    for (const auto& t : s.at("targetList")) {
      const json& rt = t.at("ResTarget");
      const json& v = rt.at("val");
      std::string one = expr(v, d + 1);
      const bool star = v.contains("ColumnRef") && v.at("ColumnRef").at("fields").back().contains("A_Star");
      if (!star) one += " AS " + pg_ident(rt.contains("name") ? rt.at("name").get<std::string>() : column_name(v));
      targets += (targets.empty() ? "" : ", ") + one;
    }
    out += targets;
    if (s.contains("fromClause")) {
      std::string from;
      for (const auto& f : s.at("fromClause")) from += (from.empty() ? "" : ", ") + from_item(f, d + 1);
      out += " FROM " + from;
    }
    if (s.contains("whereClause")) out += " WHERE " + expr(s.at("whereClause"), d + 1);
    if (s.contains("groupClause")) out += " GROUP BY " + list(s.at("groupClause"), d);
    if (s.contains("havingClause")) out += " HAVING " + expr(s.at("havingClause"), d + 1);
    return out;
  }

  // A SELECT that inner-joins an always-empty relation, as one with its
  // columns and no rows; nullopt when that does not hold or its columns
  // cannot be named (SELECT *) or an aggregate makes one row of none.
  std::optional<std::string> empty_select(const json& s, int d = 0) {
    if (!s.contains("fromClause") || !s.contains("targetList")) return std::nullopt;
    bool empty = false;
    for (const auto& f : s.at("fromClause")) empty |= inner_empty(f, d + 1);
    if (!empty) return std::nullopt;
    std::string cols;
    for (const auto& t : s.at("targetList")) {
      const json& rt = t.at("ResTarget");
      const json& v = rt.at("val");
      if (v.contains("ColumnRef") && v.at("ColumnRef").at("fields").back().contains("A_Star")) return std::nullopt;
      if (!s.contains("groupClause") && v.contains("FuncCall") &&
          kAggregates.count(dialect_lower(json_names(v.at("FuncCall").at("funcname")).back())))
        return std::nullopt;
      cols += (cols.empty() ? "" : ", ") +
              ("NULL AS " + pg_ident(rt.contains("name") ? rt.at("name").get<std::string>() : column_name(v)));
    }
    return "SELECT " + cols + " WHERE 0";
  }

  bool inner_empty(const json& f, int d = 0) {
    Depth guard(d);
    if (f.contains("RangeVar")) return kEmptyRelations.count(json_str(f.at("RangeVar"), "relname")) > 0;
    // A subquery that returns no rows (pgjdbc's getPrimaryKeys and
    // getIndexInfo read pg_index through one).
    if (f.contains("RangeSubselect")) {
      const json& sub = f.at("RangeSubselect").at("subquery").at("SelectStmt");
      return sub.value("op", "SETOP_NONE") == "SETOP_NONE" && empty_select(sub, d + 1).has_value();
    }
    if (f.contains("JoinExpr")) {
      const json& j = f.at("JoinExpr");
      const std::string type = j.value("jointype", "JOIN_INNER");
      if (type == "JOIN_INNER") return inner_empty(j.at("larg"), d + 1) || inner_empty(j.at("rarg"), d + 1);
      if (type == "JOIN_LEFT") return inner_empty(j.at("larg"), d + 1);
      if (type == "JOIN_RIGHT") return inner_empty(j.at("rarg"), d + 1);
    }
    return false;
  }

  std::string from_item(const json& f, int d) {
    Depth guard(d);
    if (f.contains("RangeVar")) return range_var(f.at("RangeVar"));
    if (f.contains("JoinExpr")) {
      const json& j = f.at("JoinExpr");
      if (j.contains("alias")) unsupported("an alias of a JOIN");
      const std::string type = j.value("jointype", "JOIN_INNER");
      std::string word = type == "JOIN_INNER" ? " JOIN " : type == "JOIN_LEFT" ? " LEFT JOIN " : type == "JOIN_RIGHT" ? " RIGHT JOIN " : type == "JOIN_FULL" ? " FULL JOIN " : "";
      if (word.empty()) unsupported("a " + type + " join");
      if (j.value("isNatural", false)) word = " NATURAL" + word;
      std::string out = "(" + from_item(j.at("larg"), d + 1);
      if (type == "JOIN_INNER" && !j.contains("quals") && !j.contains("usingClause") && !j.value("isNatural", false))
        word = " CROSS JOIN ";
      out += word + from_item(j.at("rarg"), d + 1);
      if (j.contains("quals")) out += " ON " + expr(j.at("quals"), d + 1);
      if (j.contains("usingClause")) {
        std::string cols;
        for (const auto& n : json_names(j.at("usingClause"))) cols += (cols.empty() ? "" : ", ") + pg_ident(n);
        out += " USING (" + cols + ")";
      }
      return out + ")";
    }
    if (f.contains("RangeSubselect")) {
      const json& r = f.at("RangeSubselect");
      std::string out = "(" + select_stmt(r.at("subquery").at("SelectStmt"), d + 1) + ")";
      if (r.contains("alias")) out += " AS " + pg_ident(json_str(r.at("alias"), "aliasname"));
      return out;
    }
    if (f.contains("RangeFunction")) unsupported("a function in FROM (generate_series, unnest, ...)");
    unsupported("this FROM item (" + f.begin().key() + ")");
  }

  std::string range_var(const json& r) {
    const std::string schema = json_str(r, "schemaname"), rel = json_str(r, "relname");
    if (r.contains("catalogname")) unsupported("a database-qualified name");
    std::string alias = r.contains("alias") ? json_str(r.at("alias"), "aliasname") : std::string();
    std::string out;
    if (schema == "information_schema") {
      out = pg_ident("information_schema." + rel);
      if (alias.empty()) alias = rel;
    } else if (rel == "pg_settings" && (schema.empty() || schema == "pg_catalog")) {
      out = "(" + pg_settings() + ")";
      if (alias.empty()) alias = rel;
    } else if (schema.empty() || schema == "pg_catalog" || schema == "public") {
      out = pg_ident(rel);
    } else {
      // No such schema: an empty name the reader refuses or cannot find.
      out = pg_ident(schema + "." + rel);
    }
    if (!alias.empty()) out += " AS " + pg_ident(alias);
    return out;
  }

  // pg_settings: this session's parameters.
  std::string pg_settings() {
    std::string rows;
    for (const auto& [name, value] : settings_.all()) {
      if (!rows.empty()) rows += ", ";
      rows += "(";
      rows += pg_quote(name);
      rows += ", ";
      rows += pg_quote(value);
      rows += ")";
    }
    return "SELECT column1 AS name, column2 AS setting, NULL AS unit, '' AS category, '' AS short_desc, "
           "NULL AS extra_desc, 'user' AS context, 'string' AS vartype, 'session' AS source, NULL AS min_val, "
           "NULL AS max_val, NULL AS enumvals, column2 AS boot_val, column2 AS reset_val, NULL AS sourcefile, "
           "NULL AS sourceline, 0 AS pending_restart FROM (VALUES " +
           rows + ")";
  }

  // ---- expressions -----------------------------------------------------------

  std::string list(const json& items, int d) {
    std::string out;
    for (const auto& e : items) out += (out.empty() ? "" : ", ") + expr(e, d + 1);
    return out;
  }

  // PostgreSQL's name for an unnamed result column (FigureColname).
  std::string column_name(const json& v, int d = 0) {
    Depth guard(d);
    if (v.contains("ColumnRef")) {
      const json& last = v.at("ColumnRef").at("fields").back();
      return last.contains("String") ? last.at("String").value("sval", "?column?") : "?column?";
    }
    if (v.contains("FuncCall")) return json_names(v.at("FuncCall").at("funcname")).back();
    if (v.contains("TypeCast")) {
      const std::string inner = column_name(v.at("TypeCast").at("arg"), d + 1);
      return inner != "?column?" ? inner : json_names(v.at("TypeCast").at("typeName").at("names")).back();
    }
    if (v.contains("CaseExpr")) return "case";
    if (v.contains("CoalesceExpr")) return "coalesce";
    if (v.contains("CollateClause")) return column_name(v.at("CollateClause").at("arg"), d + 1);
    if (v.contains("SubLink")) {
      const json& s = v.at("SubLink");
      const std::string t = s.value("subLinkType", "");
      if (t == "EXISTS_SUBLINK") return "exists";
      if (t == "ARRAY_SUBLINK") return "array";
      if (t == "EXPR_SUBLINK") {
        const json& sel = s.at("subselect").at("SelectStmt");
        if (sel.contains("targetList")) {
          const json& rt = sel.at("targetList").at(0).at("ResTarget");
          return rt.contains("name") ? rt.at("name").get<std::string>() : column_name(rt.at("val"), d + 1);
        }
      }
    }
    if (v.contains("SQLValueFunction")) {
      std::string op = dialect_lower(v.at("SQLValueFunction").value("op", ""));
      return op.rfind("svfop_", 0) == 0 ? op.substr(6) : op;
    }
    return "?column?";
  }

  std::string expr(const json& e, int d) {
    Depth guard(d);
    if (e.contains("A_Const")) return constant(e.at("A_Const"));
    if (e.contains("ColumnRef")) {
      std::string out;
      for (const auto& f : e.at("ColumnRef").at("fields")) {
        if (!out.empty()) out += ".";
        out += f.contains("A_Star") ? std::string("*") : pg_ident(f.at("String").value("sval", ""));
      }
      return out;
    }
    if (e.contains("A_Expr")) return a_expr(e.at("A_Expr"), d);
    if (e.contains("BoolExpr")) {
      const json& b = e.at("BoolExpr");
      const std::string op = b.value("boolop", "");
      if (op == "NOT_EXPR") return "(NOT " + expr(b.at("args").at(0), d + 1) + ")";
      std::string out;
      for (const auto& a : b.at("args"))
        out += (out.empty() ? "" : op == "AND_EXPR" ? " AND " : " OR ") + expr(a, d + 1);
      return "(" + out + ")";
    }
    if (e.contains("NullTest")) {
      const json& n = e.at("NullTest");
      return "(" + expr(n.at("arg"), d + 1) + (n.value("nulltesttype", "") == "IS_NULL" ? " IS NULL)" : " IS NOT NULL)");
    }
    if (e.contains("BooleanTest")) {
      const json& n = e.at("BooleanTest");
      static const std::map<std::string, std::string> kTests = {
          {"IS_TRUE", " IS TRUE"}, {"IS_NOT_TRUE", " IS NOT TRUE"}, {"IS_FALSE", " IS FALSE"},
          {"IS_NOT_FALSE", " IS NOT FALSE"}, {"IS_UNKNOWN", " IS NULL"}, {"IS_NOT_UNKNOWN", " IS NOT NULL"}};
      return "(" + expr(n.at("arg"), d + 1) + kTests.at(n.value("booltesttype", "IS_TRUE")) + ")";
    }
    if (e.contains("CaseExpr")) {
      const json& c = e.at("CaseExpr");
      std::string out = "CASE";
      if (c.contains("arg")) out += " " + expr(c.at("arg"), d + 1);
      for (const auto& w : c.at("args"))
        out += " WHEN " + expr(w.at("CaseWhen").at("expr"), d + 1) + " THEN " + expr(w.at("CaseWhen").at("result"), d + 1);
      if (c.contains("defresult")) out += " ELSE " + expr(c.at("defresult"), d + 1);
      return out + " END";
    }
    if (e.contains("CoalesceExpr")) return "coalesce(" + list(e.at("CoalesceExpr").at("args"), d) + ")";
    if (e.contains("MinMaxExpr")) {
      const json& m = e.at("MinMaxExpr");
      return std::string(m.value("op", "") == "IS_GREATEST" ? "max(" : "min(") + list(m.at("args"), d) + ")";
    }
    if (e.contains("CollateClause")) return expr(e.at("CollateClause").at("arg"), d + 1);
    if (e.contains("TypeCast")) return type_cast(e.at("TypeCast"), d);
    if (e.contains("FuncCall")) return func_call(e.at("FuncCall"), d);
    if (e.contains("SQLValueFunction")) {
      const std::string op = e.at("SQLValueFunction").value("op", "");
      if (op == "SVFOP_CURRENT_USER" || op == "SVFOP_USER" || op == "SVFOP_SESSION_USER" || op == "SVFOP_CURRENT_ROLE")
        return pg_quote(settings_.user());
      if (op == "SVFOP_CURRENT_CATALOG") return pg_quote(kDatabase);
      if (op == "SVFOP_CURRENT_SCHEMA") return "'public'";
      if (op == "SVFOP_CURRENT_DATE") return "date('now')";
      return "strftime('%Y-%m-%d %H:%M:%f+00', 'now')";
    }
    if (e.contains("SubLink")) {
      const json& s = e.at("SubLink");
      const std::string type = s.value("subLinkType", "");
      const std::string sub = "(" + select_stmt(s.at("subselect").at("SelectStmt"), d + 1) + ")";
      if (type == "EXPR_SUBLINK") return sub;
      if (type == "EXISTS_SUBLINK") return "EXISTS " + sub;
      if (type == "ANY_SUBLINK") {
        const auto op = json_names(s.contains("operName") ? s.at("operName") : json::array());
        if (!op.empty() && op.back() != "=") unsupported("op ANY (subquery) with an operator other than =");
        return "(" + expr(s.at("testexpr"), d + 1) + " IN " + sub + ")";
      }
      unsupported("an " + type + " subquery");
    }
    if (e.contains("A_Indirection")) return indirection(e.at("A_Indirection"));
    if (e.contains("ParamRef")) unsupported("an unbound parameter");
    if (e.contains("A_ArrayExpr")) unsupported("an ARRAY[...] value outside = ANY(...)");
    unsupported("the expression " + e.begin().key());
  }

  // (current_schemas(b))[n], which pgjdbc's getSchemas reads: the n-th
  // schema of the search path ({pg_catalog,public}, or {public}).
  std::string indirection(const json& a) {
    const json& arg = a.at("arg");
    const json& ind = a.at("indirection");
    if (arg.contains("FuncCall") && json_names(arg.at("FuncCall").at("funcname")).back() == "current_schemas" &&
        ind.size() == 1 && ind.at(0).contains("A_Indices") && ind.at(0).at("A_Indices").contains("uidx") &&
        ind.at(0).at("A_Indices").at("uidx").contains("A_Const")) {
      const json& fargs = arg.at("FuncCall").at("args");
      const bool implicit = !fargs.empty() && fargs.at(0).contains("A_Const") &&
                            fargs.at(0).at("A_Const").contains("boolval") &&
                            fargs.at(0).at("A_Const").at("boolval").value("boolval", false);
      const long long n = ind.at(0).at("A_Indices").at("uidx").at("A_Const").contains("ival")
                              ? ind.at(0).at("A_Indices").at("uidx").at("A_Const").at("ival").value("ival", 0LL)
                              : 0;
      const std::vector<std::string> path = implicit ? std::vector<std::string>{"pg_catalog", "public"}
                                                     : std::vector<std::string>{"public"};
      return n >= 1 && static_cast<size_t>(n) <= path.size() ? pg_quote(path[static_cast<size_t>(n - 1)]) : "NULL";
    }
    unsupported("array subscripts and field selection");
  }

  std::string constant(const json& c) {
    if (c.value("isnull", false)) return "NULL";
    if (c.contains("ival")) return std::to_string(c.at("ival").value("ival", 0LL));
    if (c.contains("fval")) return c.at("fval").value("fval", "0");
    if (c.contains("sval")) return pg_quote(c.at("sval").value("sval", ""));
    if (c.contains("boolval")) return c.at("boolval").value("boolval", false) ? "1" : "0";
    unsupported("a bit-string constant");
  }

  std::string a_expr(const json& a, int d) {
    const std::string kind = a.value("kind", "");
    const auto opn = json_names(a.at("name"));
    const std::string op = opn.empty() ? "" : opn.back();
    auto L = [&] { return expr(a.at("lexpr"), d + 1); };
    auto R = [&] { return expr(a.at("rexpr"), d + 1); };
    if (kind == "AEXPR_OP") {
      if (!a.contains("lexpr")) {
        if (op == "-" || op == "+") return "(" + op + R() + ")";
        unsupported("the prefix operator " + op);
      }
      static const std::set<std::string> kPlain = {"=", "<>", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/", "%", "||"};
      if (kPlain.count(op)) return "(" + L() + " " + op + " " + R() + ")";
      if (op == "~") return "regexp(" + R() + ", " + L() + ")";
      if (op == "!~") return "(NOT regexp(" + R() + ", " + L() + "))";
      if (op == "~*") return "regexp(" + R() + ", " + L() + ", 'i')";
      if (op == "!~*") return "(NOT regexp(" + R() + ", " + L() + ", 'i'))";
      if (op == "~~" || op == "~~*") return "(" + L() + " LIKE " + R() + ")";
      if (op == "!~~" || op == "!~~*") return "(" + L() + " NOT LIKE " + R() + ")";
      unsupported("the operator " + op);
    }
    if (kind == "AEXPR_LIKE" || kind == "AEXPR_ILIKE") {
      const bool neg = !op.empty() && op.at(0) == '!';
      return "(" + L() + (neg ? " NOT LIKE " : " LIKE ") + R() + ")";
    }
    if (kind == "AEXPR_IN") {
      return "(" + L() + (op == "<>" ? " NOT IN (" : " IN (") + list(a.at("rexpr").at("List").at("items"), d) + "))";
    }
    if (kind == "AEXPR_OP_ANY") {
      if (op != "=") unsupported("op ANY (array) with an operator other than =");
      return "(" + L() + " IN (" + array_items(a.at("rexpr"), d) + "))";
    }
    if (kind == "AEXPR_NULLIF") return "nullif(" + L() + ", " + R() + ")";
    if (kind == "AEXPR_DISTINCT") return "(" + L() + " IS NOT " + R() + ")";
    if (kind == "AEXPR_NOT_DISTINCT") return "(" + L() + " IS " + R() + ")";
    if (kind == "AEXPR_BETWEEN" || kind == "AEXPR_NOT_BETWEEN") {
      const json& items = a.at("rexpr").at("List").at("items");
      return "(" + L() + (kind == "AEXPR_BETWEEN" ? " BETWEEN " : " NOT BETWEEN ") + expr(items.at(0), d + 1) + " AND " +
             expr(items.at(1), d + 1) + ")";
    }
    unsupported("the operator form " + kind);
  }

  // The elements of ARRAY[...] or of a '{a,b}'::type[] literal.
  std::string array_items(const json& e, int d) {
    if (e.contains("A_ArrayExpr")) {
      if (!e.at("A_ArrayExpr").contains("elements")) return "NULL";
      return list(e.at("A_ArrayExpr").at("elements"), d);
    }
    if (e.contains("TypeCast")) {
      const json& t = e.at("TypeCast");
      if (t.at("arg").contains("A_Const") && t.at("arg").at("A_Const").contains("sval")) {
        std::string v = t.at("arg").at("A_Const").at("sval").value("sval", "");
        if (v.size() < 2 || v.front() != '{' || v.back() != '}') unsupported("an array literal other than '{a,b}'");
        std::string out;
        std::string item;
        for (size_t i = 1; i + 1 <= v.size(); ++i) {
          if (i + 1 == v.size() || v[i] == ',') {
            if (!item.empty() || i + 1 != v.size() || !out.empty()) out += (out.empty() ? "" : ", ") + pg_quote(item);
            item.clear();
          } else if (v[i] != '"') {
            item += v[i];
          }
        }
        return out.empty() ? "NULL" : out;
      }
      return array_items(t.at("arg"), d);
    }
    unsupported("= ANY of an array column");
  }

  std::string type_cast(const json& t, int d) {
    const auto tn = json_names(t.at("typeName").at("names"));
    const std::string type = tn.empty() ? "" : tn.back();
    const bool array = t.at("typeName").contains("arrayBounds");
    const json& arg = t.at("arg");
    const bool literal = arg.contains("A_Const") && arg.at("A_Const").contains("sval");
    if (array) unsupported("a cast to an array type outside = ANY(...)");
    if (type == "regclass") {
      if (literal) {
        std::string name = arg.at("A_Const").at("sval").value("sval", "");
        if (name.rfind("pg_catalog.", 0) == 0 || name.rfind("public.", 0) == 0) name = name.substr(name.find('.') + 1);
        return "(SELECT oid FROM \"pg_class\" WHERE relname = " + pg_quote(name) + ")";
      }
      return "(SELECT relname FROM \"pg_class\" WHERE oid = " + expr(arg, d + 1) + ")";
    }
    if (type == "regtype") {
      if (literal) return "(SELECT oid FROM \"pg_type\" WHERE typname = " + expr(arg, d + 1) + ")";
      return "(SELECT typname FROM \"pg_type\" WHERE oid = " + expr(arg, d + 1) + ")";
    }
    if (type == "regnamespace") return "(SELECT nspname FROM \"pg_namespace\" WHERE oid = " + expr(arg, d + 1) + ")";
    if (type == "regrole") return "(SELECT rolname FROM \"pg_roles\" WHERE oid = " + expr(arg, d + 1) + ")";
    static const std::set<std::string> kText = {"text", "varchar", "name", "char", "bpchar"};
    static const std::set<std::string> kInt = {"int2", "int4", "int8", "oid", "integer", "bigint", "smallint"};
    static const std::set<std::string> kReal = {"float4", "float8", "numeric", "real"};
    if (kText.count(type)) return "CAST(" + expr(arg, d + 1) + " AS TEXT)";
    if (kInt.count(type)) return "CAST(" + expr(arg, d + 1) + " AS INTEGER)";
    if (kReal.count(type)) return "CAST(" + expr(arg, d + 1) + " AS REAL)";
    if (type == "bool" && literal) {
      const std::string v = dialect_lower(arg.at("A_Const").at("sval").value("sval", ""));
      return v == "t" || v == "true" || v == "on" || v == "1" || v == "yes" || v == "y" ? "1" : "0";
    }
    return expr(arg, d + 1);
  }

  std::string func_call(const json& f, int d) {
    const auto fn = json_names(f.at("funcname"));
    if (fn.size() > 1 && fn.front() != "pg_catalog") unsupported("the function " + fn.front() + "." + fn.back());
    const std::string name = dialect_lower(fn.back());
    const json args = f.contains("args") ? f.at("args") : json::array();
    auto arg = [&](size_t i) { return expr(args.at(i), d + 1); };
    if (f.contains("agg_order") || f.contains("agg_filter") || f.value("agg_within_group", false))
      unsupported("ORDER BY, FILTER or WITHIN GROUP in an aggregate");
    if (name == "version")
      return pg_quote(std::string("PostgreSQL 15.0 (cartridgedb ") + cartridgedb::version() + ") on x86_64-pc-linux-gnu");
    if (name == "current_database") return pg_quote(kDatabase);
    if (name == "current_schema") return "'public'";
    if (name == "current_schemas") return "'{pg_catalog,public}'";
    if (name == "current_setting") {
      if (args.empty() || !args.at(0).contains("A_Const") || !args.at(0).at("A_Const").contains("sval"))
        unsupported("current_setting() of anything but a literal name");
      const std::string n = args.at(0).at("A_Const").at("sval").value("sval", "");
      const bool missing_ok = args.size() > 1 && args.at(1).contains("A_Const") &&
                              args.at(1).at("A_Const").contains("boolval") && args.at(1).at("A_Const").at("boolval").value("boolval", false);
      if (!settings_.known(n) && missing_ok) return "NULL";
      return pg_quote(settings_.get(n));
    }
    if (name == "pg_backend_pid" || name == "txid_current" || name == "pg_relation_size" ||
        name == "pg_total_relation_size" || name == "pg_is_in_recovery")
      return "0";
    if (name == "inet_server_addr" || name == "inet_server_port" || name == "pg_postmaster_start_time") return "NULL";
    if (name == "pg_get_userbyid") return "(SELECT rolname FROM \"pg_roles\" WHERE oid = " + arg(0) + ")";
    if (name == "pg_table_is_visible" || name == "pg_type_is_visible" || name == "pg_function_is_visible" ||
        name.rfind("has_", 0) == 0 || name == "pg_has_role")
      return "1";
    if (name == "obj_description" || name == "col_description" || name == "shobj_description" ||
        name.rfind("pg_get_", 0) == 0)
      return "NULL";
    if (name == "pg_encoding_to_char") return "'UTF8'";
    if (name == "array_to_string") return "(" + arg(0) + ")";  // every array here is NULL
    if (name == "format_type") return "format_type(" + arg(0) + ", " + (args.size() > 1 ? arg(1) : "-1") + ")";
    std::string mapped = name;
    if (name == "string_agg") mapped = "group_concat";
    else if (name == "json_build_object") mapped = "json_object";
    else if (name == "json_agg") mapped = "json_group_array";
    else if (name == "char_length" || name == "character_length") mapped = "length";
    std::string out = mapped + "(";
    if (f.value("agg_star", false)) out += "*";
    else out += std::string(f.value("agg_distinct", false) ? "DISTINCT " : "") + list(args, d);
    out += ")";
    if (f.contains("over")) {
      const json& w = f.at("over");
      std::string spec;
      if (w.contains("partitionClause")) spec += "PARTITION BY " + list(w.at("partitionClause"), d);
      if (w.contains("orderClause")) {
        std::string keys;
        for (const auto& k : w.at("orderClause"))
          keys += (keys.empty() ? "" : ", ") + expr(k.at("SortBy").at("node"), d + 1) +
                  (k.at("SortBy").value("sortby_dir", "") == "SORTBY_DESC" ? " DESC" : "");
        spec += (spec.empty() ? "" : " ") + ("ORDER BY " + keys);
      }
      out += " OVER (" + spec + ")";
    }
    return out;
  }

  const PgSettings& settings_;
};

// Whether the tree uses anything only PostgreSQL has (so that a SELECT in
// SQLite's dialect, which the pass-through always took, is left alone).
bool needs_translation(const json& j, std::string_view text, int depth = 0) {
  if (depth > kMaxDepth) return true;  // the translator reports it
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& k = it.key();
      const json& v = it.value();
      if (k == "RangeVar") {
        const std::string schema = json_str(v, "schemaname"), rel = json_str(v, "relname");
        if (schema == "pg_catalog" || schema == "information_schema" || rel.rfind("pg_", 0) == 0) return true;
      } else if (k == "FuncCall") {
        const auto fn = json_names(v.at("funcname"));
        if (fn.size() > 1 || kPgFunctions.count(dialect_lower(fn.back()))) return true;
      } else if (k == "SQLValueFunction" || k == "A_ArrayExpr" || k == "CollateClause") {
        return true;
      } else if (k == "A_Expr") {
        const std::string kind = v.value("kind", "");
        const auto op = json_names(v.at("name"));
        if (kind == "AEXPR_OP_ANY" || kind == "AEXPR_OP_ALL") return true;
        if (!op.empty() && (op.size() > 1 || op.back().find('~') != std::string::npos)) return true;
      } else if (k == "TypeCast") {
        const int at = v.value("location", -1);
        if (at >= 0 && static_cast<size_t>(at) + 2 <= text.size() && text.substr(static_cast<size_t>(at), 2) == "::")
          return true;
      }
      if (needs_translation(v, text, depth + 1)) return true;
    }
  } else if (j.is_array()) {
    for (const auto& e : j)
      if (needs_translation(e, text, depth + 1)) return true;
  }
  return false;
}

struct ParseResult {
  PgQueryParseResult r;
  ~ParseResult() { pg_query_free_parse_result(r); }
};

std::string const_text(const json& a) {
  if (a.contains("A_Const")) {
    const json& c = a.at("A_Const");
    if (c.contains("sval")) return c.at("sval").value("sval", "");
    if (c.contains("ival")) return std::to_string(c.at("ival").value("ival", 0LL));
    if (c.contains("fval")) return c.at("fval").value("fval", "");
    if (c.contains("boolval")) return c.at("boolval").value("boolval", false) ? "on" : "off";
  }
  if (a.contains("TypeCast")) return const_text(a.at("TypeCast").at("arg"));  // SET TIME ZONE INTERVAL ...
  return "";
}

}  // namespace

PgStatement classify_pg_statement(std::string_view text, const PgSettings& settings) {
  PgStatement out;
  const std::string word = pg_first_word(text);
  const bool select = word == "select" || word == "with" || word == "values";
  if (!(select || word == "set" || word == "show" || word == "reset") || text.size() > kMaxTranslatedBytes) return out;
  ParseResult p{pg_query_parse(std::string(text).c_str())};
  if (p.r.error) return out;  // not PostgreSQL's grammar: the language's, or an error it reports
  const json tree = json::parse(p.r.parse_tree, nullptr, /*allow_exceptions=*/false);
  if (tree.is_discarded() || !tree.contains("stmts") || tree.at("stmts").size() != 1) return out;
  const json& stmt = tree.at("stmts").at(0).at("stmt");
  if (stmt.contains("VariableSetStmt")) {
    const json& s = stmt.at("VariableSetStmt");
    const std::string kind = s.value("kind", "");
    const std::string name = json_str(s, "name");
    if (kind == "VAR_SET_MULTI") {  // SET SESSION CHARACTERISTICS AS TRANSACTION ..., SET TRANSACTION ...
      out.kind = PgStatement::Kind::SetNoOp;
      return out;
    }
    if (kind == "VAR_RESET_ALL") {
      out.kind = PgStatement::Kind::ResetAll;
      return out;
    }
    if (!settings.known(name)) return out;  // the language's SET, or an unknown name it reports
    out.name = settings.canonical(name);
    if (kind == "VAR_SET_VALUE") {
      out.kind = PgStatement::Kind::Set;
      std::string value;
      for (const auto& a : s.at("args")) value += (value.empty() ? "" : ", ") + const_text(a);
      out.value = value;
    } else if (kind == "VAR_SET_DEFAULT" || kind == "VAR_RESET") {
      out.kind = PgStatement::Kind::Reset;
    } else {
      out.kind = PgStatement::Kind::SetNoOp;  // SET x FROM CURRENT
    }
    return out;
  }
  if (stmt.contains("VariableShowStmt")) {
    const std::string name = json_str(stmt.at("VariableShowStmt"), "name");
    if (name == "all") out.kind = PgStatement::Kind::ShowAll;
    else if (settings.known(name)) {
      out.kind = PgStatement::Kind::Show;
      out.name = settings.canonical(name);
    } else {
      out.show_name = name;
    }
    return out;
  }
  try {
    if (stmt.contains("SelectStmt") && select && needs_translation(stmt, text)) {
      out.kind = PgStatement::Kind::Select;
      out.sql = Translator(settings).statement(stmt.at("SelectStmt"));
    }
  } catch (const json::exception&) {
    // A node without a field the translator reads (at() checks every
    // read): a form it does not know, never undefined behaviour.
    unsupported("this form of the statement");
  }
  return out;
}

}  // namespace cdb::server
