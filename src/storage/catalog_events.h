// CatalogEvents: receives the CatalogEvents that servers sharing a
// PostgreSQL catalog send (LISTEN on its own connection, a thread that
// delivers each to a callback). On a SQLite catalog there is one server and
// nothing to hear: the object is inert (active() false).
//
// The callback runs on the listener's thread, one event at a time, in
// commit order; it must not block for long (what it throws is reported on
// stderr and dropped). When the connection is lost
// the thread reconnects (every second until it succeeds) and then delivers
// a Resync event, since notifications sent meanwhile are gone. Destruction
// stops the thread (within about 100 ms) and closes the connection.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "storage/catalog_event.h"

namespace cdb {

class PgConnection;

class CatalogEvents {
 public:
  using Callback = std::function<void(const CatalogEvent&)>;
  // `location` as for open_catalog_connection. Connects and LISTENs before
  // returning (IoError naming the server if it cannot), so that every event
  // committed after construction is delivered.
  CatalogEvents(std::string_view location, Callback on_event);
  ~CatalogEvents();
  CatalogEvents(const CatalogEvents&) = delete;
  CatalogEvents& operator=(const CatalogEvents&) = delete;

  bool active() const { return thread_.joinable(); }

 private:
  void run(std::unique_ptr<PgConnection> conn);
  void deliver(const CatalogEvent& e);

  std::string location_;
  Callback on_event_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace cdb
