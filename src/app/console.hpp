// `node console`: the client of a running node's debug console (docs/console.md).
#pragma once

#include "app/cli.hpp"

namespace cascade::app {

// Runs one command (c.words) or, without one, an interactive session; returns the exit code:
// 0, 1 if the node is not running or a command failed, 2 for an unknown command.
int run_console(const console_command& c);

} // namespace cascade::app
