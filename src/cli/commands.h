// Subcommands of build/bin/cartridge. To add one: write cmd_<name>.cpp
// defining cdb::cli::cmd_<name>, declare it here, and list it in
// CDB_CLI_COMMANDS. Each returns the process exit status (0 ok, 1 error,
// 2 usage) and may throw cdb::Error, which main() prints.
#pragma once

namespace cdb::cli {

int cmd_store(int argc, char** argv);

}  // namespace cdb::cli

#define CDB_CLI_COMMANDS \
  {"store", cdb::cli::cmd_store, "create, fill, list and verify a store (LMDB blobs + SQLite catalog)"},
