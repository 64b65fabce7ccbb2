// cartridge shell [DATA_DIR] [--connect HOST:PORT] [-c ... | -f FILE]: the
// interactive shell (shell/), which also runs scripts.
#include "cli/commands.h"
#include "shell/shell_main.h"

namespace cdb::cli {

int cmd_shell(int argc, char** argv) { return shell::shell_main(argc, argv, {"cartridge shell", false}); }

}  // namespace cdb::cli
