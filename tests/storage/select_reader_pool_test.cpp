// SelectReaderPool: the sessions of a Database share the pass-through's
// readers: one per SELECT in flight, at most max_idle kept between them.
#include "storage/select_reader_pool.h"

#include <gtest/gtest.h>

#include "storage/catalog.h"
#include "support/catalog_site.h"

namespace cdb {
namespace {

class SelectReaders : public ::testing::TestWithParam<test::CatalogBackend> {
 protected:
  test::CatalogSite site{GetParam()};
  std::unique_ptr<Catalog> catalog = site.open();
};

INSTANTIATE_TEST_SUITE_P(Both, SelectReaders, test::kCatalogBackends, test::catalog_backend_name);

TEST_P(SelectReaders, AReaderGivenBackIsTheNextOneTakenAndAtMostMaxIdleAreKept) {
  catalog->create_corpus("a");
  SelectReaderPool pool(*catalog, 1);
  auto first = pool.take();
  auto second = pool.take();  // one in flight: another one
  ASSERT_NE(first.get(), second.get());
  SelectPassThrough* kept = first.get();
  pool.give_back(std::move(first));
  pool.give_back(std::move(second));  // past max_idle: closed
  EXPECT_EQ(pool.idle(), 1u);
  auto again = pool.take();
  EXPECT_EQ(again.get(), kept);
  // It carries nothing of the last statement's session.
  EXPECT_EQ(again->run("SELECT count(*) FROM corpora", [](int64_t) { return false; }).rows[0][0], "0");
  EXPECT_EQ(again->run("SELECT count(*) FROM corpora").rows[0][0], "1");
  EXPECT_EQ(pool.idle(), 0u);
}

}  // namespace
}  // namespace cdb
