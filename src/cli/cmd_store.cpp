// cartridge store: create, fill, list, verify, back up and recover a store
// directory.
#include <cstdlib>
#include <cxxopts.hpp>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>

#include "cli/blob_flags.h"
#include "cli/commands.h"
#include "common/byte_size.h"
#include "common/error.h"
#include "storage/backup.h"
#include "storage/pg_catalog_url.h"
#include "storage/recover.h"
#include "storage/store.h"

namespace cdb::cli {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void usage(FILE* out) {
  std::fprintf(out,
               "usage: cartridge store <action> DIR [options]\n\n"
               "actions:\n"
               "  create DIR                                   make an empty store\n"
               "  put DIR --corpus C --name N (--text T | --file F)\n"
               "                                               add a document (creates corpus C if needed)\n"
               "  list DIR                                     corpora, documents, cartridges, sizes\n"
               "  verify DIR [--repair]                        check every blob checksum (exit 1 if damaged);\n"
               "                                               --repair opens a store whose LMDB lacks blobs the\n"
               "                                               catalog names (marking those rows damaged) and makes\n"
               "                                               damaged rows whose blobs verify again ready\n"
               "  gc DIR [--force] [--keep-days N] [--grace S] move unreferenced blobs to the quarantine, purge\n"
               "                                               quarantined ones older than N days (default 7);\n"
               "                                               --force: even if more than 10%% of blobs would go;\n"
               "                                               with --blobs, only blobs older than --grace S\n"
               "                                               (default 3600) go: younger ones may be another\n"
               "                                               node's write whose row has not committed yet\n"
               "  quarantine DIR                               list quarantined blobs and when they were moved\n"
               "  backup DIR DEST                              consistent copy (also while a server runs), usable as is\n"
               "  recover DIR                                  rebuild a lost catalog from the blobs (the old one is\n"
               "                                               moved aside), listing what cannot be rebuilt\n\n"
               "--catalog postgresql://user@host:port/db (default $CDB_CATALOG): the catalog in PostgreSQL instead of\n"
               "DIR/catalog.sqlite (blobs stay in DIR/blobs); not for backup and recover (use pg_dump)\n"
               "--blobs s3://BUCKET/PREFIX (with --s3-endpoint URL, --s3-region, --cache-bytes ...) opens a store\n"
               "whose blobs live on S3 (docs/scale-out.md): create, put, list, verify, gc, quarantine.\n");
}

StoreOptions existing(const StoreOptions& base, bool read_only) {
  StoreOptions o = base;
  o.create_if_missing = false;
  o.read_only = read_only;
  return o;
}

int do_create(const std::string& dir, const StoreOptions& base) {
  Store s(dir, base);
  auto st = s.stats();
  std::printf("created store %s (catalog schema v%d, %zu corpora)\n", dir.c_str(), s.catalog().schema_version(),
              st.corpora);
  return 0;
}

int do_put(const std::string& dir, const StoreOptions& base, const cxxopts::ParseResult& a) {
  if (!a.count("corpus") || !a.count("name") || (a.count("text") == a.count("file")))
    throw InvalidArgument("put needs --corpus, --name and exactly one of --text or --file");
  const std::string text = a.count("text") ? a["text"].as<std::string>() : read_file(a["file"].as<std::string>());
  Store s(dir, existing(base, false));
  const std::string corpus = a["corpus"].as<std::string>();
  s.ensure_corpus(corpus);
  auto r = s.put_document(corpus, a["name"].as<std::string>(), text);
  if (r.added)
    std::printf("added '%s' to corpus '%s' (%s, hash %s); corpus is now version %lld with %lld documents\n",
                r.document.name.c_str(), corpus.c_str(), format_bytes(static_cast<int64_t>(r.document.bytes)).c_str(),
                r.document.content_hash.substr(0, 12).c_str(), static_cast<long long>(r.version.version),
                static_cast<long long>(r.version.documents));
  else
    std::printf("corpus '%s' already holds this text as '%s'; nothing added (version %lld)\n", corpus.c_str(),
                r.document.name.c_str(), static_cast<long long>(r.version.version));
  return 0;
}

int do_list(const std::string& dir, const StoreOptions& base) {
  Store s(dir, existing(base, true));
  const Catalog& c = s.catalog();
  auto corpora = c.list_corpora();
  std::printf("store %s\n", dir.c_str());
  if (corpora.empty()) std::printf("  (no corpora; add a document with: cartridge store put %s --corpus NAME ...)\n", dir.c_str());
  for (const auto& corpus : corpora) {
    auto v = c.latest_version(corpus.id);
    auto docs = c.list_documents(corpus.id);
    int64_t bytes = 0;
    for (const auto& d : docs) bytes += d.bytes;
    std::printf("\ncorpus %s  (version %lld, %zu documents, %s)%s%s\n", corpus.name.c_str(),
                static_cast<long long>(v ? v->version : 0), docs.size(),
                format_bytes(static_cast<int64_t>(bytes)).c_str(), corpus.description.empty() ? "" : " - ",
                corpus.description.c_str());
    for (const auto& d : docs)
      std::printf("  doc  %-32s %10s  %s%s\n", d.name.c_str(), format_bytes(static_cast<int64_t>(d.bytes)).c_str(),
                  d.content_hash.substr(0, 12).c_str(),
                  d.status == RowStatus::Ready ? "" : ("  [" + std::string(to_string(d.status)) + "]").c_str());
    for (const auto& k : c.list_cartridges(corpus.id))
      std::printf("  cart #%-5lld v%-3lld p=%-6lld %-5s %10s  %-10s model %s\n", static_cast<long long>(k.id),
                  static_cast<long long>(k.corpus_version), static_cast<long long>(k.tokens), k.dtype.c_str(),
                  format_bytes(static_cast<int64_t>(k.bytes)).c_str(), std::string(to_string(k.status)).c_str(),
                  k.model_fingerprint.c_str());
  }
  auto st = s.stats();
  std::printf("\ntotal: %zu corpora, %zu documents, %zu cartridges; blobs %zu (%s in LMDB), catalog %s", st.corpora,
              st.documents, st.cartridges, st.blob_entries,
              format_bytes(static_cast<int64_t>(st.blob_used_bytes)).c_str(),
              format_bytes(static_cast<int64_t>(st.catalog_bytes)).c_str());
  if (st.damaged_rows) std::printf("; %zu DAMAGED rows (run: cartridge store verify %s)", st.damaged_rows, dir.c_str());
  std::printf("\n");
  return 0;
}

void print_open_report(const OpenReport& opened) {
  if (opened.orphan_blobs_removed)
    std::printf("moved %zu unreferenced blob(s) to the quarantine (left by an interrupted write)\n",
                opened.orphan_blobs_removed);
  if (opened.quarantine_purged) std::printf("purged %zu expired quarantined blob(s)\n", opened.quarantine_purged);
  if (!opened.gc_stopped.empty()) std::printf("garbage collection stopped: %s\n", opened.gc_stopped.c_str());
  if (!opened.missing.empty())
    std::printf("%zu blob(s) the catalog names are missing; their rows are marked damaged\n", opened.missing.size());
}

int do_verify(const std::string& dir, const StoreOptions& base, bool repair) {
  StoreOptions o = existing(base, false);
  o.accept_missing_blobs = repair;
  Store s(dir, o);
  print_open_report(s.open_report());
  auto rep = s.verify_all(repair);
  if (rep.repaired_rows) std::printf("%zu damaged row(s) verified again and are ready\n", rep.repaired_rows);
  std::printf("checked %zu blobs (%s stored)\n", rep.blobs_checked,
              format_bytes(static_cast<int64_t>(rep.bytes_checked)).c_str());
  for (const auto& d : rep.damaged)
    std::printf("DAMAGED %s row %lld, blob '%s': %s\n", d.ref.owner_table.c_str(),
                static_cast<long long>(d.ref.owner_id), d.ref.blob_key.c_str(), d.reason.c_str());
  if (rep.ok()) {
    std::printf("ok: every blob matches its checksum\n");
    return 0;
  }
  std::printf("%zu damaged blob(s); their rows are marked damaged and will not be served\n", rep.damaged.size());
  return 1;
}

int do_gc(const std::string& dir, const StoreOptions& base, const cxxopts::ParseResult& a) {
  StoreOptions o = existing(base, false);
  o.gc.force = a.count("force") > 0;
  if (a.count("keep-days")) o.gc.quarantine_days = a["keep-days"].as<double>();
  if (!(o.gc.quarantine_days >= 0)) throw InvalidArgument("--keep-days must be 0 or more");
  if (a.count("grace")) {
    if (!base.s3_blobs.enabled())
      throw InvalidArgument("--grace is for a store whose blobs are on S3 (--blobs); an LMDB store has one writer");
    o.gc.grace_seconds = a["grace"].as<double>();
    if (!(o.gc.grace_seconds >= 0)) throw InvalidArgument("--grace must be 0 seconds or more");
  }
  if (base.s3_blobs.enabled()) {
    // Not at open: the bucket's collection needs its grace (store.h).
    Store s(dir, o);
    print_open_report(s.open_report());
    const BucketGcReport r = s.collect_bucket_garbage(o.gc);
    std::printf("listed %zu blob(s); moved %zu unreferenced blob(s) older than %g s to the quarantine (%s); kept %zu "
                "younger unreferenced one(s)\n",
                r.blobs_listed, r.orphans_moved, o.gc.grace_seconds,
                format_bytes(static_cast<int64_t>(r.orphan_bytes)).c_str(), r.young_kept);
    std::printf("purged %zu quarantined blob(s) older than %g days (%s)\n", r.quarantine_purged,
                o.gc.quarantine_days, format_bytes(static_cast<int64_t>(r.purged_bytes)).c_str());
    if (!r.stopped.empty()) std::printf("garbage collection stopped: %s\n", r.stopped.c_str());
    return r.stopped.empty() ? 0 : 1;
  }
  Store s(dir, o);
  print_open_report(s.open_report());
  std::printf("quarantine holds %zu blob(s)\n", s.quarantined().size());
  return s.open_report().gc_stopped.empty() ? 0 : 1;
}

int do_quarantine(const std::string& dir, const StoreOptions& base) {
  Store s(dir, existing(base, true));
  auto q = s.quarantined();
  for (const auto& [key, t] : q) {
    char when[32];
    const std::time_t tt = static_cast<std::time_t>(t);
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&tt));
    std::printf("%s  %s\n", when, key.c_str());
  }
  std::printf("%zu quarantined blob(s)\n", q.size());
  return 0;
}

int do_backup(const std::string& dir, const std::string& dest) {
  auto r = backup_store(dir, dest);
  std::printf("backed up %s to %s: catalog %s, blobs %s (%zu blobs, %zu referenced)%s\n", dir.c_str(), dest.c_str(),
              format_bytes(static_cast<int64_t>(r.catalog_bytes)).c_str(),
              format_bytes(static_cast<int64_t>(r.blob_bytes)).c_str(), r.blobs, r.referenced,
              r.attempts > 1 ? " (retried: a removal raced the copy)" : "");
  return 0;
}

int do_recover(const std::string& dir) {
  auto r = recover_catalog(dir);
  if (!r.old_catalog.empty()) std::printf("the previous catalog was moved to %s\n", r.old_catalog.c_str());
  std::printf("examined %zu blobs; rebuilt %zu corpora, %zu documents, %zu cartridges, %zu token tensors, %zu "
              "artifacts (%zu blobs)\n",
              r.blobs, r.corpora, r.documents, r.cartridges, r.tokenized, r.artifacts, r.recovered_blobs);
  for (const auto& f : r.from_keys) std::printf("FROM KEY  %s\n", f.c_str());
  for (const auto& u : r.unrecoverable) std::printf("NOT REBUILT  %s\n", u.c_str());
  std::printf("not recoverable from blobs: corpus descriptions and options, corpus version history, jobs, "
              "settings, pins%s\n",
              r.unrecoverable.empty() ? "" : "; blobs not rebuilt go to the quarantine at the next open");
  return r.unrecoverable.empty() ? 0 : 1;
}

}  // namespace

int cmd_store(int argc, char** argv) {
  cxxopts::Options cli("cartridge store", "create, fill, list and verify a store");
  cli.add_options()("corpus", "corpus name", cxxopts::value<std::string>())(
      "name", "document name", cxxopts::value<std::string>())("text", "document text", cxxopts::value<std::string>())(
      "file", "read the document text from a file", cxxopts::value<std::string>())(
      "repair", "verify: open despite missing blobs; clear damage that verifies again")(
      "force", "gc: move orphans even above 10% of the blobs")(
      "keep-days", "gc: days quarantined blobs are kept", cxxopts::value<double>())(
      "grace", "gc with --blobs: seconds an unreferenced blob is kept after its upload (default 3600)",
      cxxopts::value<double>())(
      "catalog", "postgresql://user@host:port/db: the catalog in PostgreSQL (default $CDB_CATALOG, else DIR/catalog.sqlite)",
      cxxopts::value<std::string>()->default_value(std::getenv("CDB_CATALOG") ? std::getenv("CDB_CATALOG") : ""))(
      "h,help", "this help")(
      "positional", "", cxxopts::value<std::vector<std::string>>());
  add_blob_flags(cli);
  cli.parse_positional({"positional"});
  cxxopts::ParseResult a;
  try {
    a = cli.parse(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cartridge store: %s\n\n", e.what());
    usage(stderr);
    return 2;
  }
  if (a.count("help")) {
    usage(stdout);
    return 0;
  }
  std::vector<std::string> pos = a.count("positional") ? a["positional"].as<std::vector<std::string>>()
                                                       : std::vector<std::string>{};
  if (pos.size() != 2 && !(pos.size() == 3 && pos[0] == "backup")) {
    usage(stderr);
    return 2;
  }
  const std::string& action = pos[0];
  const std::string& dir = pos[1];
  StoreOptions base;
  base.catalog = a["catalog"].as<std::string>();
  if (!base.catalog.empty()) {
    parse_pg_catalog_url(base.catalog);  // a malformed URL is refused before anything opens
    // Both copy or rebuild catalog.sqlite itself.
    if (action == "backup" || action == "recover")
      throw Unsupported("cartridge store " + action + " works on DIR/catalog.sqlite only; back up a PostgreSQL "
                        "catalog with pg_dump (a matching copy of DIR/blobs beside it is not supported yet)");
  }
  base.s3_blobs = blob_flags(a);
  if (base.s3_blobs.enabled()) {
    if (action == "backup" || action == "recover") {
      std::fprintf(stderr, "cartridge store: %s of a store with blobs on S3 is not built; back the bucket up with "
                           "versioning (docs/scale-out.md)\n", action.c_str());
      return 2;
    }
    base.s3_blobs.s3.credentials = S3Credentials::from_env();
  }
  if (action == "backup") return do_backup(dir, pos[2]);
  if (action == "recover") return do_recover(dir);
  if (action == "gc") return do_gc(dir, base, a);
  if (action == "quarantine") return do_quarantine(dir, base);
  if (action == "create") return do_create(dir, base);
  if (action == "put") return do_put(dir, base, a);
  if (action == "list") return do_list(dir, base);
  if (action == "verify") return do_verify(dir, base, a.count("repair") > 0);
  std::fprintf(stderr, "cartridge store: unknown action '%s'\n\n", action.c_str());
  usage(stderr);
  return 2;
}

}  // namespace cdb::cli
