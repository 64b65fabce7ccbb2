// Who a session acts as, and what that lets it do: the user name (owner of
// the corpora it creates), whether it is a superuser, its quotas, and how
// LOAD FILE / LOAD DIRECTORY may read the server's files.
//
// The default identity is the embedded library's and the local shell's: a
// superuser without a name (its corpora have no owner, so only superusers
// manage them) that reads any file the OS user can. A server session gets
// its authenticated user's identity (docs/server.md, "Security model").
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace cdb {

// Per-user limits; kUnlimited (-1) means none. An ordinary user's defaults
// are such that no single user can exhaust the machine; superusers have no
// limits whatever these say.
struct Quotas {
  static constexpr int64_t kUnlimited = -1;
  int64_t queued_jobs = 2;                        // jobs queued or running on the user's corpora
  int64_t steps_per_job = 500;                    // TRAIN's steps
  int64_t corpora = 10;                           // corpora owned
  int64_t bytes_stored = int64_t{64} << 20;       // document bytes in the user's corpora

  static Quotas unlimited() { return {kUnlimited, kUnlimited, kUnlimited, kUnlimited}; }
  bool operator==(const Quotas&) const = default;
};

struct SessionIdentity {
  std::string user;        // empty: the OS user (embedded library, local shell)
  bool superuser = true;
  Quotas quotas = Quotas::unlimited();
  // false: LOAD reads any path the process can (embedded, local shell).
  // true: a remote session; LOAD needs a superuser and reads only inside
  // load_root (none at all when it is empty).
  bool confine_server_files = false;
  std::filesystem::path load_root;
  // A session a peer node opened to relay ASKs for `user` (docs/scale-out.md,
  // "Routing"): its ASKs are answered here, never routed again.
  bool forwarded = false;
};

}  // namespace cdb
