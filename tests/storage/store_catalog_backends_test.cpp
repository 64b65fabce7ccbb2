// A Store whose catalog is in PostgreSQL (StoreOptions::catalog) keeps the
// same protocol as with catalog.sqlite: values round-trip across reopens,
// and the open checks match that catalog against the blob directory, so a
// directory whose blobs are not the catalog's is refused, not adopted.
#include <gtest/gtest.h>

#include "common/error.h"
#include "storage/store.h"
#include "support/catalog_site.h"
#include "support/store_keys.h"

namespace cdb {
namespace {

class StoreCatalogs : public ::testing::TestWithParam<test::CatalogBackend> {
 protected:
  StoreOptions options() const {
    StoreOptions o;
    if (GetParam() == test::CatalogBackend::PostgreSql) o.catalog = site_.location();
    return o;
  }
  test::CatalogSite site_{GetParam()};
  test::TempDir tmp_{"store-backends"};
};
INSTANTIATE_TEST_SUITE_P(Both, StoreCatalogs, test::kCatalogBackends, test::catalog_backend_name);

TEST_P(StoreCatalogs, DocumentsRoundTripAcrossReopensWithTheCatalogOnEitherBackend) {
  const auto dir = tmp_.path() / "st";
  {
    Store s(dir, options());
    EXPECT_TRUE(s.open_report().identity_created);
    s.create_corpus("c");
    EXPECT_TRUE(s.put_document("c", "a", "hello world").added);
    EXPECT_EQ(s.put_document("c", "b", std::string(5000, 'z')).version.version, 2);
    EXPECT_EQ(s.remove_document("c", "b").version, 3);
    EXPECT_GT(s.stats().catalog_bytes, 0u);
  }
  Store s(dir, options());
  EXPECT_FALSE(s.open_report().identity_created);
  EXPECT_EQ(s.read_document("c", "a"), "hello world");
  EXPECT_THROW(s.read_document("c", "b"), NotFound);
  EXPECT_EQ(test::all_blob_keys(s), test::referenced_keys(s));
  EXPECT_EQ(s.stats().documents, 1u);
}

TEST(PostgreSqlStoreCatalog, ADirectoryWithoutTheCatalogsBlobsIsRefusedAndTheCatalogLeftAlone) {
  test::CatalogSite site(test::CatalogBackend::PostgreSql);
  test::TempDir tmp("store-pg");
  StoreOptions o;
  o.catalog = site.location();
  {
    Store s(tmp.path() / "a", o);
    s.create_corpus("c");
    s.put_document("c", "a", "hello world");
  }
  // A second directory pointed at the same catalog: its blobs/ is new.
  try {
    Store other(tmp.path() / "b", o);
    FAIL() << "a directory without the catalog's blobs was opened";
  } catch (const CorruptData& e) {
    EXPECT_NE(std::string(e.what()).find("blobs/data.mdb is"), std::string::npos) << e.what();
  }
  Store s(tmp.path() / "a", o);
  EXPECT_EQ(s.read_document("c", "a"), "hello world");
}

}  // namespace
}  // namespace cdb
