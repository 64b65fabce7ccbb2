// cartridge exec DATA_DIR -c 'statements' [-f script.sql]: the shell's
// script mode under its older name (the demo and scripts use it): the same
// options, output and exit status as `cartridge shell -c / -f`.
#include "cli/commands.h"
#include "shell/shell_main.h"

namespace cdb::cli {

int cmd_exec(int argc, char** argv) { return shell::shell_main(argc, argv, {"cartridge exec", true}); }

}  // namespace cdb::cli
