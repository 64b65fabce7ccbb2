// Where a test's catalog lives, on either backend: a SQLite file in a
// TempDir, or a fresh database on the binary's shared PostgreSQL cluster
// (postgres_server.h). Value-parameterized suites run each test on both:
//
//   class Catalogs : public ::testing::TestWithParam<test::CatalogBackend> {};
//   INSTANTIATE_TEST_SUITE_P(Both, Catalogs, test::kCatalogBackends, test::catalog_backend_name);
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <span>
#include <string>

#include "storage/catalog.h"
#include "storage/catalog_location.h"
#include "support/postgres_server.h"
#include "support/temp_dir.h"

namespace cdb::test {

enum class CatalogBackend { Sqlite, PostgreSql };

inline const auto kCatalogBackends = ::testing::Values(CatalogBackend::Sqlite, CatalogBackend::PostgreSql);

inline std::string catalog_backend_name(const ::testing::TestParamInfo<CatalogBackend>& info) {
  return info.param == CatalogBackend::Sqlite ? "Sqlite" : "PostgreSql";
}

class CatalogSite {
 public:
  explicit CatalogSite(CatalogBackend backend) : backend_(backend), tmp_("catalog") {
    location_ = backend == CatalogBackend::Sqlite ? (tmp_.path() / "c.sqlite").string()
                                                  : PostgresServer::shared().create_database();
  }
  CatalogBackend backend() const { return backend_; }
  // A file path or a postgresql:// URL: what --catalog takes.
  const std::string& location() const { return location_; }
  std::unique_ptr<Catalog> open(std::span<const Migration> migrations = builtin_migrations(),
                                bool read_only = false) const {
    return std::make_unique<Catalog>(open_catalog_connection(location_, read_only), migrations, read_only);
  }

 private:
  CatalogBackend backend_;
  TempDir tmp_;
  std::string location_;
};

}  // namespace cdb::test
