#include "storage/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/hash.h"

namespace cdb {

// An exclusive flock on <dir>/LOCK for the lifetime of a read-write Store:
// garbage collection at open must never run beside another writer, whose
// freshly written blobs have no row yet.
class Store::DirLock {
 public:
  explicit DirLock(const std::filesystem::path& file) {
    fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw IoError("cannot open lock file " + file.string() + ": " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      ::close(fd_);
      if (err == EWOULDBLOCK)
        throw IoError("store " + file.parent_path().string() +
                      " is open for writing by another process; close it or open read-only");
      throw IoError("cannot lock " + file.string() + ": " + std::strerror(err));
    }
  }
  ~DirLock() { ::close(fd_); }  // closing releases the flock
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  int fd_ = -1;
};

namespace {

std::string doc_key(int64_t corpus_id, std::string_view hash) {
  return "doc/" + std::to_string(corpus_id) + "/" + std::string(hash);
}

}  // namespace

Store::Store(const std::filesystem::path& dir, StoreOptions options) : dir_(dir), options_(std::move(options)) {
  const bool exists = std::filesystem::exists(dir_ / "catalog.sqlite");
  if (!exists && (options_.read_only || !options_.create_if_missing))
    throw NotFound("no store at " + dir_.string() + " (create one with: cartridge store create " + dir_.string() +
                   ")");
  if (!options_.read_only) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) throw IoError("cannot create store directory " + dir_.string() + ": " + ec.message());
    lock_ = std::make_unique<DirLock>(dir_ / "LOCK");
  }
  BlobStoreOptions bo = options_.blobs;
  bo.read_only = options_.read_only;
  blobs_ = std::make_unique<BlobStore>(dir_ / "blobs", bo);
  catalog_ = std::make_unique<Catalog>(dir_ / "catalog.sqlite", options_.read_only);
  if (!options_.read_only) collect_garbage();
}

Store::~Store() = default;

void Store::collect_garbage() {
  std::lock_guard lock(write_mu_);
  const std::vector<BlobRef> refs = catalog_->blob_references();
  std::set<std::string, std::less<>> referenced;
  for (const auto& r : refs) referenced.insert(r.blob_key);
  std::vector<std::string> orphans;
  {
    auto txn = blobs_->read();
    txn.for_each({}, [&](std::string_view key, size_t) {
      if (!referenced.count(key)) orphans.emplace_back(key);
    });
    for (const auto& r : refs)
      if (!txn.get(r.blob_key)) opened_.missing.push_back(r);
  }
  if (!orphans.empty())
    blobs_->write([&](BlobStore::WriteTxn& w) {
      for (const auto& k : orphans) w.erase(k);
    });
  opened_.orphan_blobs_removed = orphans.size();
  if (!opened_.missing.empty()) {
    Catalog::Transaction tx(*catalog_);
    for (const auto& r : opened_.missing) catalog_->mark_damaged(r);
    tx.commit();
  }
}

std::string Store::new_blob_id() const {
  std::random_device rd;
  uint64_t hi = (uint64_t{rd()} << 32) | rd(), lo = (uint64_t{rd()} << 32) | rd();
  return hex64(hi) + hex64(lo);
}

CorpusRow Store::create_corpus(std::string_view name, std::string_view description, std::string_view options) {
  std::lock_guard lock(write_mu_);
  return catalog_->create_corpus(name, description, options);
}

CorpusRow Store::ensure_corpus(std::string_view name) {
  std::lock_guard lock(write_mu_);
  if (auto c = catalog_->find_corpus(name)) return *c;
  return catalog_->create_corpus(name);
}

PutDocumentResult Store::put_document(std::string_view corpus_name, std::string_view name, std::string_view text) {
  if (name.empty()) throw InvalidArgument("document name is empty");
  std::lock_guard lock(write_mu_);
  const CorpusRow corpus = catalog_->corpus(corpus_name);
  const std::string hash = xxh3_128_hex(text);
  PutDocumentResult result;
  if (auto same = catalog_->find_document_by_hash(corpus.id, hash)) {
    result.document = *same;
    result.version = *catalog_->latest_version(corpus.id);
    return result;
  }
  if (catalog_->find_document(corpus.id, name))
    throw InvalidArgument("corpus '" + corpus.name + "' already has a document named '" + std::string(name) +
                          "' with different content; remove it first");
  const std::string key = doc_key(corpus.id, hash);
  TensorView view{DType::U8, {static_cast<int64_t>(text.size())}, text.data()};
  const std::string blob = encode_tensor(view, options_.codec);
  blobs_->put(key, blob);  // step 1: durable blob
  try {
    Catalog::Transaction tx(*catalog_);  // step 2: the row makes it visible
    DocumentRow row;
    row.corpus_id = corpus.id;
    row.name = std::string(name);
    row.content_hash = hash;
    row.bytes = static_cast<int64_t>(text.size());
    row.blob_key = key;
    result.document = catalog_->insert_document(row);
    result.version = catalog_->bump_corpus_version(corpus.id);
    tx.commit();
  } catch (...) {
    blobs_->erase(key);  // otherwise collected at the next open
    throw;
  }
  result.added = true;
  return result;
}

void Store::read_verified(const BlobRef& ref, const std::function<void(std::string_view)>& use) {
  auto txn = blobs_->read();
  auto blob = txn.get(ref.blob_key);
  try {
    if (!blob) throw CorruptData("blob '" + ref.blob_key + "' of " + ref.owner_table + " row " +
                                 std::to_string(ref.owner_id) + " is missing from " + blobs_->dir().string());
    use(*blob);
  } catch (const CorruptData&) {
    if (!options_.read_only) {
      std::lock_guard lock(write_mu_);
      catalog_->mark_damaged(ref);
    }
    throw;
  }
}

std::string Store::read_document(const DocumentRow& doc) {
  if (doc.status != "ready")
    throw CorruptData("document '" + doc.name + "' (blob '" + doc.blob_key + "') is marked " + doc.status +
                      "; re-add it");
  std::string text;
  read_verified({doc.blob_key, "documents", doc.id}, [&](std::string_view blob) {
    TensorHeader h = read_header(blob, "blob '" + doc.blob_key + "'");
    if (h.dtype != DType::U8 || h.shape.size() != 1)
      throw CorruptData("blob '" + doc.blob_key + "' is not a text (u8 vector) tensor");
    text.resize(h.uncompressed_bytes);
    decode_tensor_into(blob, text.data(), text.size(), "blob '" + doc.blob_key + "'", options_.codec.threads);
  });
  return text;
}

std::string Store::read_document(std::string_view corpus_name, std::string_view name) {
  const CorpusRow corpus = catalog_->corpus(corpus_name);
  auto doc = catalog_->find_document(corpus.id, name);
  if (!doc) throw NotFound("corpus '" + corpus.name + "' has no document named '" + std::string(name) + "'");
  return read_document(*doc);
}

CorpusVersionRow Store::remove_document(std::string_view corpus_name, std::string_view name) {
  std::lock_guard lock(write_mu_);
  const CorpusRow corpus = catalog_->corpus(corpus_name);
  auto doc = catalog_->find_document(corpus.id, name);
  if (!doc) throw NotFound("corpus '" + corpus.name + "' has no document named '" + std::string(name) + "'");
  CorpusVersionRow v;
  {
    Catalog::Transaction tx(*catalog_);
    catalog_->delete_document(doc->id);
    v = catalog_->bump_corpus_version(corpus.id);
    tx.commit();
  }
  blobs_->erase(doc->blob_key);
  return v;
}

CartridgeRow Store::put_cartridge(const CartridgeRow& meta, const std::vector<NamedTensor>& tensors) {
  std::set<std::string, std::less<>> names;
  for (const auto& t : tensors) {
    if (t.name.empty() || t.name.size() > 100) throw InvalidArgument("cartridge tensor names must be 1..100 bytes");
    if (!names.insert(t.name).second) throw InvalidArgument("duplicate cartridge tensor name '" + t.name + "'");
  }
  const std::string prefix = "cart/" + new_blob_id() + "/";
  CartridgeRow row = meta;
  row.tensors.clear();
  std::vector<std::string> blobs;
  blobs.reserve(tensors.size());
  for (const auto& t : tensors) {
    blobs.push_back(encode_tensor(t.tensor, options_.codec));
    row.tensors.push_back({t.name, prefix + t.name, std::string(dtype_name(t.tensor.dtype)), t.tensor.shape,
                           static_cast<int64_t>(blobs.back().size())});
  }
  std::lock_guard lock(write_mu_);
  blobs_->write([&](BlobStore::WriteTxn& w) {
    for (size_t i = 0; i < blobs.size(); ++i) w.put(row.tensors[i].blob_key, blobs[i]);
  });
  try {
    Catalog::Transaction tx(*catalog_);
    CartridgeRow out = catalog_->insert_cartridge(row);
    tx.commit();
    return out;
  } catch (...) {
    blobs_->write([&](BlobStore::WriteTxn& w) {
      for (const auto& t : row.tensors) w.erase(t.blob_key);
    });
    throw;
  }
}

void Store::read_cartridge_tensor_into(int64_t id, std::string_view name, void* dst, size_t dst_bytes) {
  auto c = catalog_->cartridge(id);
  if (!c) throw NotFound("no cartridge with id " + std::to_string(id));
  if (c->status == "damaged" || c->status == "building" || c->status == "failed")
    throw CorruptData("cartridge " + std::to_string(id) + " is " + c->status + " and cannot be served");
  auto it = std::find_if(c->tensors.begin(), c->tensors.end(), [&](const auto& t) { return t.name == name; });
  if (it == c->tensors.end())
    throw NotFound("cartridge " + std::to_string(id) + " has no tensor '" + std::string(name) + "'");
  read_verified({it->blob_key, "cartridges", id}, [&](std::string_view blob) {
    decode_tensor_into(blob, dst, dst_bytes, "blob '" + it->blob_key + "'", options_.codec.threads);
  });
}

DecodedTensor Store::read_cartridge_tensor(int64_t id, std::string_view name) {
  auto c = catalog_->cartridge(id);
  if (!c) throw NotFound("no cartridge with id " + std::to_string(id));
  auto it = std::find_if(c->tensors.begin(), c->tensors.end(), [&](const auto& t) { return t.name == name; });
  if (it == c->tensors.end())
    throw NotFound("cartridge " + std::to_string(id) + " has no tensor '" + std::string(name) + "'");
  DecodedTensor out(parse_dtype(it->dtype), it->shape);
  read_cartridge_tensor_into(id, name, out.data(), out.bytes());
  return out;
}

void Store::remove_cartridge(int64_t id) {
  std::lock_guard lock(write_mu_);
  auto c = catalog_->cartridge(id);
  if (!c) throw NotFound("no cartridge with id " + std::to_string(id));
  {
    Catalog::Transaction tx(*catalog_);
    catalog_->delete_cartridge(id);
    tx.commit();
  }
  blobs_->write([&](BlobStore::WriteTxn& w) {
    for (const auto& t : c->tensors) w.erase(t.blob_key);
  });
}

TokenizedRow Store::put_tokens(int64_t corpus_id, int64_t corpus_version, std::string_view fp,
                               const TensorView& tokens) {
  if (tokens.dtype != DType::I32) throw InvalidArgument("token tensors must be i32");
  if (fp.empty()) throw InvalidArgument("tokenizer fingerprint is empty");
  const std::string key =
      "tok/" + std::to_string(corpus_id) + "/" + std::to_string(corpus_version) + "/" + std::string(fp);
  const std::string blob = encode_tensor(tokens, options_.codec);
  std::lock_guard lock(write_mu_);
  // Checked before the blob write: the key is derived from the row, and
  // overwriting then erasing it would destroy the existing row's blob.
  if (catalog_->find_tokenized(corpus_id, corpus_version, fp))
    throw InvalidArgument("corpus " + std::to_string(corpus_id) + " version " + std::to_string(corpus_version) +
                          " is already tokenized with '" + std::string(fp) + "'");
  blobs_->put(key, blob);
  try {
    Catalog::Transaction tx(*catalog_);
    TokenizedRow row;
    row.corpus_id = corpus_id;
    row.corpus_version = corpus_version;
    row.tokenizer_fingerprint = std::string(fp);
    row.tokens = checked_numel(tokens.shape, tokens.dtype, "tokens");
    row.blob_key = key;
    row.bytes = static_cast<int64_t>(blob.size());
    TokenizedRow out = catalog_->insert_tokenized(row);
    tx.commit();
    return out;
  } catch (...) {
    blobs_->erase(key);
    throw;
  }
}

DecodedTensor Store::read_tokens(const TokenizedRow& row) {
  if (row.status != "ready") throw CorruptData("token blob '" + row.blob_key + "' is marked " + row.status);
  DecodedTensor out;
  read_verified({row.blob_key, "tokenized_corpora", row.id}, [&](std::string_view blob) {
    out = decode_tensor(blob, "blob '" + row.blob_key + "'", options_.codec.threads);
  });
  return out;
}

std::vector<ArtifactRow> Store::put_artifacts(std::string_view scope, const std::vector<NamedTensor>& tensors,
                                              std::string_view meta_json) {
  if (scope.empty() || scope.size() > 300) throw InvalidArgument("artifact scope must be 1..300 bytes");
  const std::string in_scope = " in artifact scope '" + std::string(scope) + "'";
  std::set<std::string, std::less<>> names;
  for (const auto& t : tensors) {
    if (t.name.empty() || t.name.size() > 200) throw InvalidArgument("artifact names must be 1..200 bytes" + in_scope);
    if (!names.insert(t.name).second) throw InvalidArgument("duplicate artifact name '" + t.name + "'" + in_scope);
  }
  // Checked before any blob is written: a refused put changes nothing.
  if (!nlohmann::json::accept(meta_json))
    throw InvalidArgument("artifact meta" + in_scope + " is not valid JSON: " + std::string(meta_json));
  std::vector<std::string> blobs;
  std::vector<ArtifactRow> rows;
  blobs.reserve(tensors.size());
  for (const auto& t : tensors) {
    blobs.push_back(encode_tensor(t.tensor, options_.codec));
    ArtifactRow r;
    r.scope = std::string(scope);
    r.name = t.name;
    r.dtype = std::string(dtype_name(t.tensor.dtype));
    r.shape = nlohmann::json(t.tensor.shape).dump();
    r.meta = std::string(meta_json);
    r.bytes = static_cast<int64_t>(blobs.back().size());
    rows.push_back(std::move(r));
  }
  std::lock_guard lock(write_mu_);
  // Fresh random keys: the old set's blobs stay untouched until the swap
  // has committed, so a crash before it leaves the old set readable.
  for (auto& r : rows) r.blob_key = "art/" + new_blob_id();
  blobs_->write([&](BlobStore::WriteTxn& w) {  // step 1: durable blobs
    for (size_t i = 0; i < blobs.size(); ++i) w.put(rows[i].blob_key, blobs[i]);
  });
  std::vector<ArtifactRow> old;
  try {
    Catalog::Transaction tx(*catalog_);  // step 2: the swap, one commit
    old = catalog_->replace_artifacts(scope, rows);
    tx.commit();
  } catch (...) {
    blobs_->write([&](BlobStore::WriteTxn& w) {
      for (const auto& r : rows) w.erase(r.blob_key);
    });
    throw;
  }
  // Step 3. The new set is committed whatever happens here: if erasing
  // fails, the old blobs are unreferenced and the next open collects them.
  try {
    blobs_->write([&](BlobStore::WriteTxn& w) {
      for (const auto& r : old) w.erase(r.blob_key);
    });
  } catch (const Error&) {
  }
  return catalog_->list_artifacts(scope);
}

std::vector<ArtifactRow> Store::list_artifacts(std::string_view scope) const { return catalog_->list_artifacts(scope); }

DecodedTensor Store::read_artifact(std::string_view scope, std::string_view name) {
  const std::string what = "artifact '" + std::string(name) + "' of scope '" + std::string(scope) + "'";
  auto row = catalog_->find_artifact(scope, name);
  if (!row) throw NotFound("no " + what + " in store " + dir_.string());
  if (row->status != "ready")
    throw CorruptData(what + " (blob '" + row->blob_key + "') is marked " + row->status + "; put the scope again");
  const std::string label = what + " (blob '" + row->blob_key + "')";
  DecodedTensor out;
  try {
    read_verified({row->blob_key, "artifacts", row->id}, [&](std::string_view blob) {
      out = decode_tensor(blob, label, options_.codec.threads);
      if (dtype_name(out.dtype()) != row->dtype || nlohmann::json(out.shape()).dump() != row->shape)
        throw CorruptData(label + ": blob holds " + std::string(dtype_name(out.dtype())) + " " +
                          nlohmann::json(out.shape()).dump() + ", the catalog says " + row->dtype + " " + row->shape);
    });
  } catch (const CorruptData& e) {
    if (std::string_view(e.what()).find(what) != std::string_view::npos) throw;
    throw CorruptData(label + ": " + e.what());  // e.g. the blob is missing
  }
  return out;
}

size_t Store::remove_artifacts(std::string_view scope_prefix) {
  std::lock_guard lock(write_mu_);
  std::vector<ArtifactRow> gone;
  {
    Catalog::Transaction tx(*catalog_);
    gone = catalog_->delete_artifacts(scope_prefix);
    tx.commit();
  }
  if (!gone.empty())
    blobs_->write([&](BlobStore::WriteTxn& w) {
      for (const auto& r : gone) w.erase(r.blob_key);
    });
  return gone.size();
}

VerifyReport Store::verify_all() {
  VerifyReport report;
  for (const BlobRef& ref : catalog_->blob_references()) {
    auto txn = blobs_->read();
    auto blob = txn.get(ref.blob_key);
    std::string reason;
    if (!blob) {
      reason = "missing";
    } else {
      report.bytes_checked += blob->size();
      try {
        verify_tensor(*blob, "blob '" + ref.blob_key + "'", options_.codec.threads);
      } catch (const CorruptData& e) {
        reason = e.what();
      } catch (const Unsupported& e) {
        reason = e.what();
      }
    }
    ++report.blobs_checked;
    if (!reason.empty()) report.damaged.push_back({ref, reason});
  }
  if (!report.damaged.empty() && !options_.read_only) {
    std::lock_guard lock(write_mu_);
    Catalog::Transaction tx(*catalog_);
    for (const auto& d : report.damaged) catalog_->mark_damaged(d.ref);
    tx.commit();
  }
  return report;
}

StoreStats Store::stats() const {
  StoreStats s;
  auto count = [&](const char* sql) {
    Statement st(catalog_->db(), sql);
    st.step();
    return static_cast<size_t>(st.int64(0));
  };
  {
    std::lock_guard lock(catalog_->mutex());
    s.corpora = count("SELECT count(*) FROM corpora");
    s.documents = count("SELECT count(*) FROM documents");
    s.cartridges = count("SELECT count(*) FROM cartridges");
    s.artifacts = count("SELECT count(*) FROM artifacts");
    s.damaged_rows = count(
        "SELECT (SELECT count(*) FROM documents WHERE status='damaged') + (SELECT count(*) FROM cartridges WHERE "
        "status='damaged') + (SELECT count(*) FROM tokenized_corpora WHERE status='damaged') + (SELECT count(*) "
        "FROM artifacts WHERE status='damaged')");
  }
  const BlobStoreStats b = blobs_->stats();
  s.blob_entries = b.entries;
  s.blob_used_bytes = b.used_bytes;
  s.blob_file_bytes = b.file_bytes;
  for (const char* f : {"catalog.sqlite", "catalog.sqlite-wal"}) {
    std::error_code ec;
    auto n = std::filesystem::file_size(dir_ / f, ec);
    if (!ec) s.catalog_bytes += n;
  }
  s.opened = opened_;
  return s;
}

}  // namespace cdb
