// LISTEN/NOTIFY between servers sharing a PostgreSQL catalog: a grant, a
// published Cartridge or a dropped corpus notified through one Catalog
// reaches a CatalogEvents listening on another connection, only once its
// transaction commits; on SQLite both sides are inert.
#include <gtest/gtest.h>

#include <vector>

#include "storage/catalog.h"
#include "storage/catalog_events.h"
#include "support/catalog_site.h"
#include "support/received_events.h"

namespace cdb {
namespace {

using test::ReceivedEvents;

TEST(CatalogEvents, ANotifyFromOneCatalogReachesAListenerOnAnotherConnectionOnlyWhenItCommits) {
  test::CatalogSite site(test::CatalogBackend::PostgreSql);
  auto writer = site.open();
  ReceivedEvents got;
  CatalogEvents listener(site.location(), got.callback());
  ASSERT_TRUE(listener.active());

  const int64_t corpus = writer->create_corpus("c").id;
  {
    Catalog::Transaction tx(*writer);
    writer->grant_usage(corpus, "bob");
    // Rolled back: never delivered.
  }
  writer->grant_usage(corpus, "carol");
  CartridgeRow r;
  r.corpus_id = corpus;
  r.corpus_version = 1;
  r.model_fingerprint = std::string(32, 'f');
  r.dtype = "f32";
  const int64_t cart = writer->insert_cartridge(r).id;
  writer->notify({CatalogEvent::Kind::CorpusDropped, corpus, 0});

  const auto events = got.wait_for(3);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0], (CatalogEvent{CatalogEvent::Kind::GrantChanged, corpus, 0}));
  EXPECT_EQ(events[1], (CatalogEvent{CatalogEvent::Kind::CartridgePublished, corpus, cart}));
  EXPECT_EQ(events[2], (CatalogEvent{CatalogEvent::Kind::CorpusDropped, corpus, 0}));
}

TEST(CatalogEvents, OnSqliteTheListenerIsInertAndNotifyDoesNothing) {
  test::CatalogSite site(test::CatalogBackend::Sqlite);
  auto c = site.open();
  ReceivedEvents got;
  CatalogEvents listener(site.location(), got.callback());
  EXPECT_FALSE(listener.active());
  c->notify({CatalogEvent::Kind::CorpusDropped, 1, 0});
  c->grant_usage(c->create_corpus("c").id, "bob");
}

TEST(CatalogEvents, APayloadThisBuildDoesNotKnowIsIgnored) {
  EXPECT_FALSE(CatalogEvent::from_json(R"({"event": "cartridge_renamed", "id": 3})"));
  EXPECT_FALSE(CatalogEvent::from_json("not json"));
  for (auto kind : {CatalogEvent::Kind::CartridgePublished, CatalogEvent::Kind::CorpusDropped,
                    CatalogEvent::Kind::GrantChanged, CatalogEvent::Kind::PinChanged, CatalogEvent::Kind::Resync}) {
    const CatalogEvent e{kind, 4, 9};
    EXPECT_EQ(CatalogEvent::from_json(e.to_json()), e) << e.to_json();
  }
}

}  // namespace
}  // namespace cdb
