// CatalogEvent: a change other servers sharing a PostgreSQL catalog must
// hear of to drop what they cached: a Cartridge published, a corpus
// dropped, a grant given or taken, a corpus pinned or unpinned. Catalog::notify sends one (NOTIFY on
// channel kCatalogEventChannel, with a JSON payload), inside the caller's
// transaction, so that it is delivered only if that commits;
// CatalogEvents (catalog_events.h) receives them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cdb {

inline constexpr const char* kCatalogEventChannel = "cdb_catalog";

struct CatalogEvent {
  enum class Kind {
    CartridgePublished,  // id: the cartridge
    CorpusDropped,
    GrantChanged,
    PinChanged,  // PIN or UNPIN of the corpus
    // Not sent by anyone: the listener's connection was re-established, and
    // events may have been missed meanwhile; drop every cached entry.
    Resync,
  };
  Kind kind = Kind::Resync;
  int64_t corpus_id = 0;
  int64_t id = 0;

  std::string to_json() const;
  // nullopt for a payload this build does not know (a newer server's).
  static std::optional<CatalogEvent> from_json(std::string_view payload);
  bool operator==(const CatalogEvent&) const = default;
};

}  // namespace cdb
