#include "storage/catalog_event.h"

#include <nlohmann/json.hpp>

namespace cdb {

namespace {
constexpr std::pair<CatalogEvent::Kind, const char*> kKindWords[] = {
    {CatalogEvent::Kind::CartridgePublished, "cartridge_published"},
    {CatalogEvent::Kind::CorpusDropped, "corpus_dropped"},
    {CatalogEvent::Kind::GrantChanged, "grant_changed"},
    {CatalogEvent::Kind::PinChanged, "pin_changed"},
    {CatalogEvent::Kind::Resync, "resync"},
};
}  // namespace

std::string CatalogEvent::to_json() const {
  const char* word = "resync";
  for (const auto& [k, w] : kKindWords)
    if (k == kind) word = w;
  return nlohmann::json{{"event", word}, {"corpus_id", corpus_id}, {"id", id}}.dump();
}

std::optional<CatalogEvent> CatalogEvent::from_json(std::string_view payload) {
  const auto j = nlohmann::json::parse(payload, nullptr, false);
  if (!j.is_object() || !j.contains("event") || !j["event"].is_string()) return std::nullopt;
  CatalogEvent e;
  bool known = false;
  for (const auto& [k, w] : kKindWords)
    if (j["event"].get<std::string>() == w) e.kind = k, known = true;
  if (!known) return std::nullopt;
  e.corpus_id = j.value("corpus_id", int64_t{0});
  e.id = j.value("id", int64_t{0});
  return e;
}

}  // namespace cdb
