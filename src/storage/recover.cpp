#include "storage/recover.h"

#include <ctime>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/hash.h"
#include "storage/blob_cache.h"
#include "storage/blob_record.h"
#include "storage/blob_store.h"
#include "storage/catalog.h"
#include "storage/dir_lock.h"
#include "storage/store_identity.h"
#include "storage/tensor_codec.h"

namespace cdb {

namespace {

namespace fs = std::filesystem;

struct Found {
  std::string key;
  TensorHeader header;
  size_t stored_bytes = 0;
  std::optional<BlobRecord> record;
};

std::string describe(const Found& f) {
  return f.key + " (" + std::string(dtype_name(f.header.dtype)) + " " + nlohmann::json(f.header.shape).dump() + ")";
}

}  // namespace

RecoverReport recover_catalog(const fs::path& dir) {
  RecoverReport rep;
  DirLock lock(dir / "LOCK");
  BlobStore blobs(dir / "blobs");  // checks data.mdb against its meta pages first
  if (auto txn = blobs.read(); auto url = txn.get(Space::kMeta, kCacheOfMetaKey))
    throw InvalidArgument("store " + dir.string() + " keeps its blobs in " + std::string(*url) +
                          "; its blobs/ is only a cache of some of them, and a catalog cannot be recovered from "
                          "a cache (nothing was changed)");
  // Examine every live blob: header, checksum, record.
  std::vector<Found> found;
  {
    auto txn = blobs.read();
    txn.for_each_value(Space::kBlobs, {}, [&](std::string_view key, std::string_view blob) {
      ++rep.blobs;
      Found f;
      f.key = std::string(key);
      f.stored_bytes = blob.size();
      try {
        f.header = read_header(blob, "blob '" + f.key + "'");
        verify_tensor(blob, "blob '" + f.key + "'", 1);
      } catch (const Error& e) {
        rep.unrecoverable.push_back(f.key + ": fails verification (" + e.what() + ")");
        return;
      }
      if (auto r = txn.get(Space::kRecords, key)) f.record = decode_record(*r);
      found.push_back(std::move(f));
    });
  }

  // The old catalog is kept, moved aside.
  const fs::path file = dir / "catalog.sqlite";
  std::error_code ec;
  if (fs::exists(file, ec)) {
    rep.old_catalog = dir / ("catalog.sqlite.before-recover-" + std::to_string(std::time(nullptr)));
    fs::rename(file, rep.old_catalog, ec);
    if (ec) throw IoError("cannot move " + file.string() + " aside: " + ec.message());
    for (const char* side : {"-wal", "-shm"}) {
      fs::path p = dir / (std::string("catalog.sqlite") + side);
      if (fs::exists(p, ec)) fs::rename(p, rep.old_catalog.string() + side, ec);
    }
  }
  Catalog cat(file);
  Catalog::Transaction tx(cat);
  std::map<std::string, int64_t> corpus_ids;
  std::map<std::string, int64_t> corpus_top_version;
  auto corpus = [&](const std::string& name) {
    auto it = corpus_ids.find(name);
    if (it != corpus_ids.end()) return it->second;
    const int64_t id = cat.create_corpus(name, "recovered by cartridge store recover").id;
    ++rep.corpora;
    corpus_top_version[name] = 1;
    return corpus_ids[name] = id;
  };
  std::map<std::string, std::vector<const Found*>> cart_groups, art_scopes;
  for (const Found& f : found) {
    const BlobRecord* r = f.record ? &*f.record : nullptr;
    if (r && r->kind == "document") {
      DocumentRow d;
      d.corpus_id = corpus(r->corpus);
      d.name = r->name;
      d.content_hash = r->hash;
      d.bytes = static_cast<int64_t>(f.header.uncompressed_bytes);
      d.blob_key = f.key;
      try {
        cat.insert_document(d);
        ++rep.documents;
        ++rep.recovered_blobs;
      } catch (const Error& e) {
        rep.unrecoverable.push_back(f.key + ": document '" + r->name + "' of corpus '" + r->corpus +
                                    "' conflicts with another (" + e.what() + ")");
      }
    } else if (r && r->kind == "cartridge") {
      cart_groups[f.key.substr(0, f.key.rfind('/') + 1)].push_back(&f);
    } else if (r && r->kind == "artifact") {
      art_scopes[r->scope].push_back(&f);
    } else if (r && r->kind == "tokens") {
      const int64_t cid = corpus(r->corpus);
      corpus_top_version[r->corpus] = std::max(corpus_top_version[r->corpus], r->corpus_version);
      TokenizedRow t;
      t.corpus_id = cid;
      t.corpus_version = r->corpus_version;
      t.tokenizer_fingerprint = r->model;
      t.tokens = f.header.shape.empty() ? 0 : f.header.shape[0];
      t.blob_key = f.key;
      t.bytes = static_cast<int64_t>(f.stored_bytes);
      cat.insert_tokenized(t);
      ++rep.tokenized;
      ++rep.recovered_blobs;
    } else if (f.key.rfind("doc/", 0) == 0 && f.header.dtype == DType::U8 && f.header.shape.size() == 1) {
      // Written before records: the key holds the corpus id and the hash.
      const std::string rest = f.key.substr(4);
      const auto slash = rest.find('/');
      const std::string cid = rest.substr(0, slash), hash = slash == std::string::npos ? "" : rest.substr(slash + 1);
      if (hash.size() != 32) {
        rep.unrecoverable.push_back(f.key + ": a document key without a content hash");
        continue;
      }
      DocumentRow d;
      d.corpus_id = corpus("recovered-" + cid);
      d.name = hash;
      d.content_hash = hash;
      d.bytes = static_cast<int64_t>(f.header.uncompressed_bytes);
      d.blob_key = f.key;
      cat.insert_document(d);
      ++rep.documents;
      ++rep.recovered_blobs;
      rep.from_keys.push_back(f.key + ": document of corpus id " + cid + ", named by its hash in corpus 'recovered-" +
                              cid + "' (its name was not recorded)");
    } else if (f.key.rfind("cart/", 0) == 0) {
      rep.unrecoverable.push_back(describe(f) + ": Cartridge tensor written before records; corpus, model and "
                                  "version unknown");
    } else if (f.key.rfind("tok/", 0) == 0) {
      rep.unrecoverable.push_back(describe(f) + ": token tensor written before records (tokenize again)");
    } else if (f.key.rfind("art/", 0) == 0) {
      rep.unrecoverable.push_back(describe(f) + ": artifact tensor written before records; scope and name unknown");
    } else {
      rep.unrecoverable.push_back(describe(f) + ": no record, and the key does not say what it is");
    }
  }
  for (const auto& [prefix, parts] : cart_groups) {
    const BlobRecord& r = *parts.front()->record;
    std::set<std::string> have;
    for (const Found* f : parts) have.insert(f->record->tensor);
    std::vector<std::string> lacking;
    for (const auto& t : r.layout)
      if (!have.count(t)) lacking.push_back(t);
    if (!lacking.empty()) {
      for (const Found* f : parts)
        rep.unrecoverable.push_back(describe(*f) + ": its Cartridge lacks tensor(s) " + nlohmann::json(lacking).dump());
      continue;
    }
    CartridgeRow c;
    c.corpus_id = corpus(r.corpus);
    c.corpus_version = r.corpus_version;
    corpus_top_version[r.corpus] = std::max(corpus_top_version[r.corpus], r.corpus_version);
    c.model_fingerprint = r.model;
    c.tokens = r.tokens;
    c.dtype = r.dtype;
    c.metrics = r.metrics;
    for (const auto& name : r.layout)
      for (const Found* f : parts)
        if (f->record->tensor == name)
          c.tensors.push_back({name, f->key, std::string(dtype_name(f->header.dtype)), f->header.shape,
                               static_cast<int64_t>(f->stored_bytes)});
    cat.insert_cartridge(c);
    ++rep.cartridges;
    rep.recovered_blobs += parts.size();
  }
  for (const auto& [scope, parts] : art_scopes) {
    std::vector<ArtifactRow> rows;
    for (const Found* f : parts) {
      ArtifactRow a;
      a.scope = scope;
      a.name = f->record->name;
      a.blob_key = f->key;
      a.dtype = std::string(dtype_name(f->header.dtype));
      a.shape = nlohmann::json(f->header.shape).dump();
      a.meta = f->record->metrics;
      a.bytes = static_cast<int64_t>(f->stored_bytes);
      rows.push_back(std::move(a));
    }
    cat.replace_artifacts(scope, rows);
    rep.artifacts += rows.size();
    rep.recovered_blobs += rows.size();
  }
  // Version history is gone; each corpus gets versions up to the highest one
  // a Cartridge or token record names, all holding its current documents.
  for (const auto& [name, id] : corpus_ids)
    for (int64_t v = 0; v < corpus_top_version[name]; ++v) cat.bump_corpus_version(id);
  auto id = read_identity(blobs);
  if (!id) {
    id = new_store_identity();
    write_identity(blobs, *id);
  }
  write_identity(cat, *id);
  tx.commit();
  return rep;
}

}  // namespace cdb
