// `cartridge shell` and its script-only alias `cartridge exec`: options,
// opening the session, choosing between the prompt and a script.
#pragma once

namespace cdb::shell {

struct CommandInfo {
  const char* name;              // "cartridge shell", for messages
  bool script_required = false;  // exec: -c or -f must be given
};

// The process exit status: 0 ok, 1 a statement or the open failed, 2 usage.
int shell_main(int argc, char** argv, const CommandInfo& info);

}  // namespace cdb::shell
