// The Catalog's owners and grants (sql/004_roles.sql): a corpus made before
// the migration has no owner and no grants; owners, grants to a user and to
// PUBLIC decide may_use_corpus; the counts quotas are checked against.
#include <gtest/gtest.h>

#include "storage/catalog.h"
#include "support/catalog_site.h"

namespace cdb {
namespace {

class CatalogRoles : public ::testing::TestWithParam<test::CatalogBackend> {
 protected:
  test::CatalogSite site_{GetParam()};
};
INSTANTIATE_TEST_SUITE_P(Both, CatalogRoles, test::kCatalogBackends, test::catalog_backend_name);

TEST_P(CatalogRoles, ACorpusFromBeforeRolesHasNoOwnerAndIsUsableByNoOrdinaryUser) {
  std::vector<Migration> before;
  for (const Migration& m : builtin_migrations())
    if (m.version < 4) before.push_back(m);
  site_.open(before)->create_corpus("old");
  auto cat = site_.open();
  Catalog& c = *cat;
  ASSERT_GE(c.schema_version(), 4);
  const int64_t old = c.corpus("old").id;
  EXPECT_FALSE(c.corpus_owner(old));
  EXPECT_FALSE(c.may_use_corpus(old, "alice"));
  EXPECT_TRUE(c.usable_corpora("alice").empty());
  EXPECT_EQ(c.owned_corpora("alice"), 0);
}

TEST_P(CatalogRoles, OwnersAndGrantsToAUserOrPublicDecideWhoMayUseACorpus) {
  auto cat = site_.open();
  Catalog& c = *cat;
  const int64_t farm = c.create_corpus("farm").id, town = c.create_corpus("town").id;
  c.set_corpus_owner(farm, "alice");
  c.set_corpus_owner(town, "bob");
  EXPECT_EQ(c.corpus_owner(farm), "alice");
  EXPECT_TRUE(c.may_use_corpus(farm, "alice"));
  EXPECT_FALSE(c.may_use_corpus(farm, "bob"));
  c.grant_usage(farm, "bob");
  c.grant_usage(farm, "bob");  // once is enough
  EXPECT_TRUE(c.may_use_corpus(farm, "bob"));
  EXPECT_EQ(c.usable_corpora("bob"), (std::vector<int64_t>{farm, town}));
  EXPECT_FALSE(c.may_use_corpus(farm, "carol"));
  c.grant_usage(town, Catalog::kPublicGrantee);
  EXPECT_EQ(c.usable_corpora("carol"), std::vector<int64_t>{town});
  EXPECT_TRUE(c.revoke_usage(farm, "bob"));
  EXPECT_FALSE(c.revoke_usage(farm, "bob"));
  EXPECT_FALSE(c.may_use_corpus(farm, "bob"));
  EXPECT_EQ(c.owned_corpora("alice"), 1);
  EXPECT_EQ(c.owned_document_bytes("alice"), 0);
  EXPECT_EQ(c.owned_active_jobs("alice"), 0);
  c.create_job("train", farm);
  EXPECT_EQ(c.owned_active_jobs("alice"), 1);
  EXPECT_EQ(c.owned_active_jobs("bob"), 0);
}

}  // namespace
}  // namespace cdb
