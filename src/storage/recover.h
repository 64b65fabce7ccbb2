// recover_catalog: rebuilds a lost or damaged catalog from what the blob
// environment holds (`cartridge store recover DIR`).
//
// Every blob written since records exist carries one (blob_record.h), from
// which its catalog row is rebuilt: documents with their corpus and name,
// Cartridges whole (when every tensor named in the record's layout is
// present and verifies), token tensors, artifact scopes. Blobs written
// before records are recovered from their key where that is enough:
// a document blob (doc/<corpus id>/<hash>) becomes a document named by its
// hash in corpus "recovered-<corpus id>" (its text verifies against the
// hash). Cartridge, token and artifact blobs without a record are listed
// (key, dtype, shape) but not rebuilt: their corpus, model and names are
// not in the blobs. What is never recoverable: corpus descriptions and
// options, corpus version history (each corpus gets versions up to the
// highest one a record names, all of its current documents), jobs,
// settings, pins. Blobs that fail their checksum are skipped and listed.
//
// The existing catalog.sqlite (and its -wal/-shm), if any, is moved aside
// to catalog.sqlite.before-recover-<unix time>, never deleted. The new
// catalog takes the blob environment's identity (a new one when it has
// none). Takes the directory's write lock: refused while a server runs.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace cdb {

struct RecoverReport {
  std::filesystem::path old_catalog;  // where the previous catalog went; empty if there was none
  size_t blobs = 0;                   // live blobs examined
  size_t recovered_blobs = 0;         // now referenced by a rebuilt row
  size_t corpora = 0, documents = 0, cartridges = 0, tokenized = 0, artifacts = 0;
  std::vector<std::string> from_keys;      // recovered without a record (how)
  std::vector<std::string> unrecoverable;  // "key: why"
};

RecoverReport recover_catalog(const std::filesystem::path& dir);

}  // namespace cdb
