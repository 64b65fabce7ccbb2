#include "storage/catalog_events.h"

#include <libpq-fe.h>
#include <poll.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "common/error.h"
#include "storage/pg_catalog_url.h"
#include "storage/pg_connection.h"

namespace cdb {

namespace {

std::unique_ptr<PgConnection> listen_on(const std::string& location) {
  auto conn = std::make_unique<PgConnection>(parse_pg_catalog_url(location));
  conn->exec(std::string("LISTEN ") + kCatalogEventChannel);
  return conn;
}

}  // namespace

CatalogEvents::CatalogEvents(std::string_view location, Callback on_event)
    : location_(location), on_event_(std::move(on_event)) {
  if (!is_postgresql_url(location_)) return;
  thread_ = std::thread(&CatalogEvents::run, this, listen_on(location_));
}

CatalogEvents::~CatalogEvents() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void CatalogEvents::deliver(const CatalogEvent& e) {
  try {
    on_event_(e);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "cartridgedb: a catalog event handler failed: %s\n", ex.what());
  }
}

void CatalogEvents::run(std::unique_ptr<PgConnection> conn) {
  while (!stop_) {
    if (!conn) {
      try {
        conn = listen_on(location_);
        deliver(CatalogEvent{});  // Resync: what was sent while away is lost
      } catch (const IoError&) {
        for (int i = 0; i < 10 && !stop_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
    }
    PGconn* c = conn->handle();
    // A short timeout, so that destruction is noticed soon.
    pollfd p{PQsocket(c), POLLIN, 0};
    const int ready = ::poll(&p, 1, 100);
    if (ready < 0) continue;
    if (ready > 0 && !PQconsumeInput(c)) {
      conn.reset();  // lost: reconnect above
      continue;
    }
    while (PGnotify* n = PQnotifies(c)) {
      const std::unique_ptr<PGnotify, decltype(&PQfreemem)> owned(n, &PQfreemem);
      if (auto e = CatalogEvent::from_json(n->extra)) deliver(*e);
    }
  }
}

}  // namespace cdb
