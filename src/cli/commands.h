// Subcommands of build/bin/cartridge. To add one: write cmd_<name>.cpp
// defining cdb::cli::cmd_<name>, declare it here, and list it in
// CDB_CLI_COMMANDS. Each returns the process exit status (0 ok, 1 error,
// 2 usage) and may throw cdb::Error, which main() prints.
#pragma once

namespace cdb::cli {

int cmd_store(int argc, char** argv);
int cmd_generate(int argc, char** argv);
int cmd_convert(int argc, char** argv);
int cmd_random_model(int argc, char** argv);
int cmd_eval(int argc, char** argv);
int cmd_exec(int argc, char** argv);
int cmd_serve(int argc, char** argv);
int cmd_shell(int argc, char** argv);

}  // namespace cdb::cli

#define CDB_CLI_COMMANDS \
  {"store", cdb::cli::cmd_store, "create, fill, list and verify a store (LMDB blobs + SQLite catalog)"}, \
  {"generate", cdb::cli::cmd_generate, "generate text from a prompt with a model (llama2.c run compatible)"}, \
  {"convert", cdb::cli::cmd_convert, "write a model (llama2.c or HF) as a self-contained HF safetensors directory"}, \
  {"random-model", cdb::cli::cmd_random_model, "write a seeded random-weight model in a real HF shape (llama-3.2-1b, qwen3-4b, ...)"}, \
  {"eval", cdb::cli::cmd_eval, "train and score a corpus's Cartridges: self-study vs ntp, truncation, ICL, no context"}, \
  {"exec", cdb::cli::cmd_exec, "run query-language statements on a data directory (cartridge exec DIR -c '...')"}, \
  {"serve", cdb::cli::cmd_serve, "serve a data directory over the PostgreSQL protocol (psql, libpq, psycopg, JDBC)"}, \
  {"shell", cdb::cli::cmd_shell, "the interactive shell: statements typed, from -c / -f / stdin, or --connect to a server"},
