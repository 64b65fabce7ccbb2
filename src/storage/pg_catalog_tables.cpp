#include "storage/pg_catalog_tables.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <sqlite3.h>

#include <map>
#include <memory>
#include <string_view>

#include "common/error.h"
#include "storage/sqlite_db.h"

namespace cdb {

namespace {

constexpr int kCatalogNamespace = 11, kPublicNamespace = 2200, kInfoSchemaNamespace = 13000;
constexpr int kSystemRole = 10;  // owns every relation and the database
constexpr int kFirstRelationOid = 16384;
constexpr int kFirstCatalogOid = 1000000;  // pg_catalog's own relations here

struct PgTypeRow {
  int oid;
  const char* name;
  int len;
  char category;
  int elem;   // arrays: the element type
  int array;  // scalars: their array type
  const char* sql_name;  // format_type()'s spelling, null: the name
};

// PostgreSQL 15's built-in types a driver maps by OID (pgjdbc's
// TypeInfoCache, psycopg's and node-postgres' type tables), with their
// array types. OIDs are PostgreSQL's: they are facts clients rely on.
const PgTypeRow kPgTypes[] = {
    {16, "bool", 1, 'B', 0, 1000, "boolean"},
    {17, "bytea", -1, 'U', 0, 1001, nullptr},
    {18, "char", 1, 'Z', 0, 1002, "\"char\""},
    {19, "name", 64, 'S', 0, 1003, nullptr},
    {20, "int8", 8, 'N', 0, 1016, "bigint"},
    {21, "int2", 2, 'N', 0, 1005, "smallint"},
    {22, "int2vector", -1, 'A', 21, 1006, nullptr},
    {23, "int4", 4, 'N', 0, 1007, "integer"},
    {24, "regproc", 4, 'N', 0, 1008, nullptr},
    {25, "text", -1, 'S', 0, 1009, nullptr},
    {26, "oid", 4, 'N', 0, 1028, nullptr},
    {27, "tid", 6, 'U', 0, 1010, nullptr},
    {28, "xid", 4, 'U', 0, 1011, nullptr},
    {29, "cid", 4, 'U', 0, 1012, nullptr},
    {30, "oidvector", -1, 'A', 26, 1013, nullptr},
    {114, "json", -1, 'U', 0, 199, nullptr},
    {142, "xml", -1, 'U', 0, 143, nullptr},
    {700, "float4", 4, 'N', 0, 1021, "real"},
    {701, "float8", 8, 'N', 0, 1022, "double precision"},
    {705, "unknown", -2, 'X', 0, 0, nullptr},
    {790, "money", 8, 'N', 0, 791, nullptr},
    {1033, "aclitem", 12, 'U', 0, 1034, nullptr},
    {1042, "bpchar", -1, 'S', 0, 1014, "character"},
    {1043, "varchar", -1, 'S', 0, 1015, "character varying"},
    {1082, "date", 4, 'D', 0, 1182, nullptr},
    {1083, "time", 8, 'D', 0, 1183, "time without time zone"},
    {1114, "timestamp", 8, 'D', 0, 1115, "timestamp without time zone"},
    {1184, "timestamptz", 8, 'D', 0, 1185, "timestamp with time zone"},
    {1186, "interval", 16, 'T', 0, 1187, nullptr},
    {1700, "numeric", -1, 'N', 0, 1231, nullptr},
    {2205, "regclass", 4, 'N', 0, 2210, nullptr},
    {2206, "regtype", 4, 'N', 0, 2211, nullptr},
    {2249, "record", -1, 'P', 0, 2287, nullptr},
    {2278, "void", 4, 'P', 0, 0, nullptr},
    {2950, "uuid", 16, 'U', 0, 2951, nullptr},
    {3802, "jsonb", -1, 'U', 0, 3807, nullptr},
};

struct PgArrayRow {
  int oid;
  int elem;
};
const PgArrayRow kPgArrays[] = {{1000, 16},  {1001, 17},  {1002, 18},  {1003, 19},  {1016, 20},  {1005, 21},
                            {1006, 22},  {1007, 23},  {1008, 24},  {1009, 25},  {1028, 26},  {1010, 27},
                            {1011, 28},  {1012, 29},  {1013, 30},  {199, 114},  {143, 142},  {1021, 700},
                            {1022, 701}, {791, 790},  {1034, 1033}, {1014, 1042}, {1015, 1043}, {1182, 1082},
                            {1183, 1083}, {1115, 1114}, {1185, 1184}, {1187, 1186}, {1231, 1700}, {2210, 2205},
                            {2211, 2206}, {2287, 2249}, {2951, 2950}, {3807, 3802}};

const PgTypeRow* pg_scalar_type(int oid) {
  for (const auto& t : kPgTypes)
    if (t.oid == oid) return &t;
  return nullptr;
}

int pg_type_oid(std::string_view pg_type) {
  for (const auto& t : kPgTypes)
    if (pg_type == t.name) return t.oid;
  return 25;
}

// A TEMP table: name, then "column type" pairs.
struct PgTableDef {
  const char* name;
  const char* columns;  // SQL column definitions
};

// Column lists follow PostgreSQL 15's catalogs (the columns the queries of
// psql 15, pgjdbc 42.5 and SQLAlchemy 1.4 read, and their neighbours).
// Arrays (acl, options, keys) are text: always NULL here.
const PgTableDef kPgTables[] = {
    {"pg_namespace", "oid oid, nspname name, nspowner oid, nspacl text"},
    {"pg_class",
     "oid oid, relname name, relnamespace oid, reltype oid, reloftype oid, relowner oid, relam oid, relfilenode oid, "
     "reltablespace oid, relpages int4, reltuples float4, relallvisible int4, reltoastrelid oid, relhasindex bool, "
     "relisshared bool, relpersistence char, relkind char, relnatts int2, relchecks int2, relhasrules bool, "
     "relhastriggers bool, relhassubclass bool, relrowsecurity bool, relforcerowsecurity bool, relispopulated bool, "
     "relreplident char, relispartition bool, relrewrite oid, relacl text, reloptions text, relpartbound text"},
    {"pg_attribute",
     "attrelid oid, attname name, atttypid oid, attstattarget int4, attlen int2, attnum int2, attndims int4, "
     "attcacheoff int4, atttypmod int4, attbyval bool, attalign char, attstorage char, attcompression char, "
     "attnotnull bool, atthasdef bool, atthasmissing bool, attidentity char, attgenerated char, attisdropped bool, "
     "attislocal bool, attinhcount int4, attcollation oid, attacl text, attoptions text, attfdwoptions text, "
     "attmissingval text"},
    {"pg_type",
     "oid oid, typname name, typnamespace oid, typowner oid, typlen int2, typbyval bool, typtype char, "
     "typcategory char, typispreferred bool, typisdefined bool, typdelim char, typrelid oid, typsubscript regproc, "
     "typelem oid, typarray oid, typinput regproc, typoutput regproc, typreceive regproc, typsend regproc, "
     "typmodin regproc, typmodout regproc, typanalyze regproc, typalign char, typstorage char, typnotnull bool, "
     "typbasetype oid, typtypmod int4, typndims int4, typcollation oid, typdefaultbin text, typdefault text, "
     "typacl text"},
    {"pg_database",
     "oid oid, datname name, datdba oid, encoding int4, datlocprovider char, datistemplate bool, datallowconn bool, "
     "datconnlimit int4, dattablespace oid, datcollate text, datctype text, daticulocale text, datcollversion text, "
     "datacl text"},
    {"pg_roles",
     "rolname name, rolsuper bool, rolinherit bool, rolcreaterole bool, rolcreatedb bool, rolcanlogin bool, "
     "rolreplication bool, rolconnlimit int4, rolpassword text, rolvaliduntil timestamptz, rolbypassrls bool, "
     "rolconfig text, oid oid"},
    {"pg_user",
     "usename name, usesysid oid, usecreatedb bool, usesuper bool, userepl bool, usebypassrls bool, passwd text, "
     "valuntil timestamptz, useconfig text"},
    {"pg_am", "oid oid, amname name, amhandler regproc, amtype char"},
    {"pg_tablespace", "oid oid, spcname name, spcowner oid, spcacl text, spcoptions text"},
    {"pg_description", "objoid oid, classoid oid, objsubid int4, description text"},
    {"pg_shdescription", "objoid oid, classoid oid, description text"},
    {"pg_attrdef", "oid oid, adrelid oid, adnum int2, adbin text"},
    {"pg_constraint",
     "oid oid, conname name, connamespace oid, contype char, condeferrable bool, condeferred bool, convalidated bool, "
     "conrelid oid, contypid oid, conindid oid, conparentid oid, confrelid oid, confupdtype char, confdeltype char, "
     "confmatchtype char, conislocal bool, coninhcount int4, connoinherit bool, conkey text, confkey text, "
     "conbin text"},
    {"pg_index",
     "indexrelid oid, indrelid oid, indnatts int2, indnkeyatts int2, indisunique bool, indnullsnotdistinct bool, "
     "indisprimary bool, indisexclusion bool, indimmediate bool, indisclustered bool, indisvalid bool, "
     "indcheckxmin bool, indisready bool, indislive bool, indisreplident bool, indkey text, indcollation text, "
     "indclass text, indoption text, indexprs text, indpred text"},
    {"pg_trigger",
     "oid oid, tgrelid oid, tgparentid oid, tgname name, tgfoid oid, tgtype int2, tgenabled char, tgisinternal bool, "
     "tgconstrrelid oid, tgconstrindid oid, tgconstraint oid, tgdeferrable bool, tginitdeferred bool, tgnargs int2, "
     "tgattr text, tgargs bytea, tgqual text, tgoldtable name, tgnewtable name"},
    {"pg_policy",
     "oid oid, polname name, polrelid oid, polcmd char, polpermissive bool, polroles text, polqual text, "
     "polwithcheck text"},
    {"pg_inherits", "inhrelid oid, inhparent oid, inhseqno int4, inhdetachpending bool"},
    {"pg_rewrite", "oid oid, rulename name, ev_class oid, ev_type char, ev_enabled char, is_instead bool"},
    {"pg_statistic_ext",
     "oid oid, stxrelid oid, stxname name, stxnamespace oid, stxowner oid, stxstattarget int4, stxkeys text, "
     "stxkind text"},
    {"pg_publication", "oid oid, pubname name, pubowner oid, puballtables bool"},
    {"pg_publication_rel", "oid oid, prpubid oid, prrelid oid, prqual text, prattrs text"},
    {"pg_publication_namespace", "oid oid, pnpubid oid, pnnspid oid"},
    {"pg_enum", "oid oid, enumtypid oid, enumsortorder float4, enumlabel name"},
    {"pg_sequence",
     "seqrelid oid, seqtypid oid, seqstart int8, seqincrement int8, seqmax int8, seqmin int8, seqcache int8, "
     "seqcycle bool"},
    {"pg_collation",
     "oid oid, collname name, collnamespace oid, collowner oid, collprovider char, collisdeterministic bool, "
     "collencoding int4, collcollate text, collctype text"},
    {"pg_proc", "oid oid, proname name, pronamespace oid, proowner oid, prorettype oid, proargtypes text, prokind char"},
    {"pg_extension", "oid oid, extname name, extowner oid, extnamespace oid, extversion text"},
    {"pg_foreign_table", "ftrelid oid, ftserver oid, ftoptions text"},
    {"pg_partitioned_table", "partrelid oid, partstrat char, partnatts int2, partdefid oid"},
    {"pg_depend", "classid oid, objid oid, objsubid int4, refclassid oid, refobjid oid, refobjsubid int4, deptype char"},
};

// information_schema, as views of the tables above (PostgreSQL's are views
// of pg_catalog too). Type names in data_type follow the SQL standard.
const PgTableDef kInfoSchemaViews[] = {
    {"information_schema.schemata",
     "SELECT 'cartridgedb' AS catalog_name, nspname AS schema_name, 'cartridgedb' AS schema_owner, "
     "NULL AS default_character_set_catalog, NULL AS default_character_set_schema, "
     "NULL AS default_character_set_name, NULL AS sql_path FROM pg_namespace"},
    {"information_schema.tables",
     "SELECT 'cartridgedb' AS table_catalog, n.nspname AS table_schema, c.relname AS table_name, "
     "CASE WHEN n.oid = 11 THEN 'BASE TABLE' WHEN c.relkind = 'v' THEN 'VIEW' ELSE 'BASE TABLE' END AS table_type, "
     "NULL AS self_referencing_column_name, NULL AS reference_generation, NULL AS user_defined_type_catalog, "
     "NULL AS user_defined_type_schema, NULL AS user_defined_type_name, 'NO' AS is_insertable_into, "
     "'NO' AS is_typed, NULL AS commit_action "
     "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"},
    {"information_schema.columns",
     "SELECT 'cartridgedb' AS table_catalog, n.nspname AS table_schema, c.relname AS table_name, "
     "a.attname AS column_name, a.attnum AS ordinal_position, NULL AS column_default, "
     "CASE WHEN a.attnotnull THEN 'NO' ELSE 'YES' END AS is_nullable, "
     "format_type(a.atttypid, -1) AS data_type, NULL AS character_maximum_length, "
     "NULL AS character_octet_length, NULL AS numeric_precision, NULL AS numeric_precision_radix, "
     "NULL AS numeric_scale, NULL AS datetime_precision, NULL AS interval_type, NULL AS interval_precision, "
     "NULL AS character_set_catalog, NULL AS character_set_schema, NULL AS character_set_name, "
     "NULL AS collation_catalog, NULL AS collation_schema, NULL AS collation_name, NULL AS domain_catalog, "
     "NULL AS domain_schema, NULL AS domain_name, 'cartridgedb' AS udt_catalog, 'pg_catalog' AS udt_schema, "
     "t.typname AS udt_name, NULL AS scope_catalog, NULL AS scope_schema, NULL AS scope_name, "
     "NULL AS maximum_cardinality, a.attnum AS dtd_identifier, 'NO' AS is_self_referencing, 'NO' AS is_identity, "
     "NULL AS identity_generation, 'NEVER' AS is_generated, NULL AS generation_expression, 'NO' AS is_updatable "
     "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
     "JOIN pg_type t ON t.oid = a.atttypid"},
};

std::string pg_quote_text(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string pg_quote_ident(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// "oid oid, relname name" -> {{oid, oid}, {relname, name}}
std::vector<std::pair<std::string, std::string>> pg_split_columns(std::string_view defs) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!defs.empty()) {
    const size_t comma = defs.find(',');
    std::string_view one = defs.substr(0, comma);
    while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
    const size_t sp = one.find(' ');
    out.emplace_back(std::string(one.substr(0, sp)), std::string(one.substr(sp + 1)));
    if (comma == std::string_view::npos) break;
    defs.remove_prefix(comma + 1);
  }
  return out;
}

void insert_attributes(std::string& sql, int relid, const std::vector<PgRelationColumn>& cols) {
  int num = 0;
  for (const auto& c : cols) {
    const int t = pg_type_oid(c.pg_type);
    const PgTypeRow* tr = pg_scalar_type(t);
    const int len = tr ? tr->len : -1;
    sql += "INSERT INTO pg_attribute VALUES (" + std::to_string(relid) + ", " + pg_quote_text(c.name) + ", " + std::to_string(t) +
           ", -1, " + std::to_string(len) + ", " + std::to_string(++num) + ", 0, -1, -1, " +
           (len > 0 && len <= 8 ? "1" : "0") + ", 'i', 'p', '', " + (c.not_null ? "1" : "0") +
           ", 0, 0, '', '', 0, 1, 0, " + (t == 25 || t == 1043 ? "100" : "0") + ", NULL, NULL, NULL, NULL);\n";
  }
}

void insert_class(std::string& sql, int oid, std::string_view name, int ns, size_t natts) {
  sql += "INSERT INTO pg_class VALUES (" + std::to_string(oid) + ", " + pg_quote_text(name) + ", " + std::to_string(ns) +
         ", 0, 0, " + std::to_string(kSystemRole) + ", 2, 0, 0, 0, -1, 0, 0, 0, 0, 'p', " +
         (ns == kInfoSchemaNamespace ? "'v'" : "'r'") + ", " + std::to_string(natts) +
         ", 0, 0, 0, 0, 0, 0, 1, 'n', 0, 0, NULL, NULL, NULL);\n";
}

// format_type(type oid, typmod): the SQL spelling psql and
// information_schema show.
void pg_format_type(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  if (argc < 1 || sqlite3_value_type(argv[0]) == SQLITE_NULL) return sqlite3_result_null(ctx);
  const int oid = sqlite3_value_int(argv[0]);
  std::string out;
  if (const PgTypeRow* t = pg_scalar_type(oid)) {
    out = t->sql_name ? t->sql_name : t->name;
  } else {
    for (const auto& a : kPgArrays)
      if (a.oid == oid)
        if (const PgTypeRow* e = pg_scalar_type(a.elem)) out = std::string(e->sql_name ? e->sql_name : e->name) + "[]";
  }
  if (out.empty()) out = "???";
  sqlite3_result_text(ctx, out.c_str(), static_cast<int>(out.size()), SQLITE_TRANSIENT);
}

// regexp(pattern, subject): PostgreSQL's ~ (SQLite's REGEXP operator calls
// it). PCRE2, not a backtracking std::regex: the match limit bounds the
// work of a hostile pattern, and nothing recurses on the stack. Flags in
// the third argument: "i" for ~*.
void pg_regexp(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL)
    return sqlite3_result_null(ctx);
  const auto* pat = sqlite3_value_text(argv[0]);
  const int pat_len = sqlite3_value_bytes(argv[0]);
  const auto* sub = sqlite3_value_text(argv[1]);
  const int sub_len = sqlite3_value_bytes(argv[1]);
  constexpr int kMax = 4096;
  if (pat_len > kMax || sub_len > kMax)
    return sqlite3_result_error(ctx, "regular expression match (~) of more than 4096 bytes", -1);
  const bool icase = argc > 2 && sqlite3_value_text(argv[2]) && sqlite3_value_text(argv[2])[0] == 'i';
  int err = 0;
  PCRE2_SIZE off = 0;
  std::unique_ptr<pcre2_code, void (*)(pcre2_code*)> re(
      pcre2_compile(pat, static_cast<PCRE2_SIZE>(pat_len), PCRE2_UTF | (icase ? PCRE2_CASELESS : 0), &err, &off,
                    nullptr),
      pcre2_code_free);
  if (!re) return sqlite3_result_error(ctx, "invalid regular expression", -1);
  std::unique_ptr<pcre2_match_context, void (*)(pcre2_match_context*)> mc(pcre2_match_context_create(nullptr),
                                                                          pcre2_match_context_free);
  pcre2_set_match_limit(mc.get(), 100'000);
  pcre2_set_depth_limit(mc.get(), 1'000);
  std::unique_ptr<pcre2_match_data, void (*)(pcre2_match_data*)> md(
      pcre2_match_data_create_from_pattern(re.get(), nullptr), pcre2_match_data_free);
  const int rc = pcre2_match(re.get(), sub, static_cast<PCRE2_SIZE>(sub_len), 0, 0, md.get(), mc.get());
  if (rc >= 0) return sqlite3_result_int(ctx, 1);
  if (rc == PCRE2_ERROR_NOMATCH) return sqlite3_result_int(ctx, 0);
  sqlite3_result_error(ctx, "regular expression match (~) failed or ran past its work limit", -1);
}

}  // namespace

const std::set<std::string>& PgCatalogTables::relation_names() {
  static const std::set<std::string> names = [] {
    std::set<std::string> s;
    for (const auto& t : kPgTables) s.insert(t.name);
    for (const auto& v : kInfoSchemaViews) s.insert(v.name);
    return s;
  }();
  return names;
}

const std::set<std::string>& PgCatalogTables::function_names() {
  static const std::set<std::string> names = {"format_type", "regexp"};
  return names;
}

void PgCatalogTables::create(SqliteDb& conn, const std::vector<PgRelation>& relations) {
  std::string sql = "BEGIN;\n";
  for (const auto& t : kPgTables) sql += "CREATE TEMP TABLE " + std::string(t.name) + " (" + t.columns + ");\n";
  for (const auto& v : kInfoSchemaViews) sql += "CREATE TEMP VIEW " + pg_quote_ident(v.name) + " AS " + v.columns + ";\n";

  sql += "INSERT INTO pg_namespace VALUES (11, 'pg_catalog', 10, NULL), (2200, 'public', 10, NULL), "
         "(13000, 'information_schema', 10, NULL);\n";
  sql += "INSERT INTO pg_database VALUES (16383, 'cartridgedb', 10, 6, 'c', 0, 1, -1, 1663, 'C.UTF-8', 'C.UTF-8', "
         "NULL, NULL, NULL);\n";
  sql += "INSERT INTO pg_roles VALUES ('cartridgedb', 1, 1, 0, 0, 0, 0, -1, '********', NULL, 0, NULL, 10);\n";
  sql += "INSERT INTO pg_user VALUES ('cartridgedb', 10, 0, 1, 0, 0, '********', NULL, NULL);\n";
  sql += "INSERT INTO pg_am VALUES (2, 'heap', 'heap_tableam_handler', 't'), "
         "(403, 'btree', 'bthandler', 'i');\n";
  sql += "INSERT INTO pg_tablespace VALUES (1663, 'pg_default', 10, NULL, NULL);\n";
  for (const auto& t : kPgTypes) {
    const bool byval = t.len > 0 && t.len <= 8 && t.len != 6;
    const char align = t.len == 1 ? 'c' : t.len == 2 ? 's' : t.len == 8 ? 'd' : 'i';
    const char typtype = t.category == 'P' || t.category == 'X' ? 'p' : 'b';
    const bool collatable = t.oid == 25 || t.oid == 1042 || t.oid == 1043;
    const std::string n = t.name;
    sql += "INSERT INTO pg_type VALUES (" + std::to_string(t.oid) + ", " + pg_quote_text(n) + ", 11, 10, " +
           std::to_string(t.len) + ", " + (byval ? "1" : "0") + ", '" + typtype + "', '" + t.category +
           "', 0, 1, ',', 0, '-', " + std::to_string(t.elem) + ", " + std::to_string(t.array) + ", " + pg_quote_text(n + "in") +
           ", " + pg_quote_text(n + "out") + ", " + pg_quote_text(n + "recv") + ", " + pg_quote_text(n + "send") + ", '-', '-', '-', '" + align +
           "', '" + (t.len < 0 ? 'x' : 'p') + "', 0, 0, -1, 0, " + (collatable ? "100" : "0") + ", NULL, NULL, NULL);\n";
  }
  for (const auto& a : kPgArrays) {
    const PgTypeRow* e = pg_scalar_type(a.elem);
    if (!e) continue;
    sql += "INSERT INTO pg_type VALUES (" + std::to_string(a.oid) + ", " + pg_quote_text(std::string("_") + e->name) +
           ", 11, 10, -1, 0, 'b', 'A', 0, 1, ',', 0, 'array_subscript_handler', " + std::to_string(a.elem) +
           ", 0, 'array_in', 'array_out', 'array_recv', 'array_send', '-', '-', 'array_typanalyze', '" +
           (e->len == 8 ? 'd' : 'i') + "', 'x', 0, 0, -1, 0, 0, NULL, NULL, NULL);\n";
  }
  // The relations a SELECT may read, in public.
  for (size_t i = 0; i < relations.size(); ++i) {
    const int oid = kFirstRelationOid + static_cast<int>(i);
    insert_class(sql, oid, relations[i].name, kPublicNamespace, relations[i].columns.size());
    insert_attributes(sql, oid, relations[i].columns);
  }
  // pg_catalog's own relations, and information_schema's views.
  int oid = kFirstCatalogOid;
  for (const auto& t : kPgTables) {
    std::vector<PgRelationColumn> cols;
    for (auto& [n, ty] : pg_split_columns(t.columns)) cols.push_back({n, ty, false});
    insert_class(sql, oid, t.name, kCatalogNamespace, cols.size());
    insert_attributes(sql, oid, cols);
    ++oid;
  }
  for (const auto& v : kInfoSchemaViews) {
    const std::string_view name = std::string_view(v.name).substr(std::string_view("information_schema.").size());
    insert_class(sql, oid++, name, kInfoSchemaNamespace, 0);
  }
  sql += "COMMIT;\n";
  conn.exec(sql);
}

void PgCatalogTables::register_functions(sqlite3* db) {
  const int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
  int rc = sqlite3_create_function_v2(db, "format_type", 2, flags, nullptr, &pg_format_type, nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_function_v2(db, "format_type", 1, flags, nullptr, &pg_format_type, nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_create_function_v2(db, "regexp", 2, flags, nullptr, &pg_regexp, nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_create_function_v2(db, "regexp", 3, flags, nullptr, &pg_regexp, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) throw IoError(std::string("cannot register the pg_catalog functions: ") + sqlite3_errmsg(db));
}

}  // namespace cdb
