// The Console capability of schema/console.capnp (console_handlers.cpp): every call becomes a
// core::console_query for the backend and its answer is copied into the results. The socket,
// the uid check and the server thread: console_server.cpp.
#pragma once

#include <kj/timer.h>

#include "console.capnp.h"
#include "rpc/console_server.hpp"

namespace cascade::rpc {

// Serves on the console thread; `timer` bounds how long a call waits for the backend.
console_wire::Console::Client make_console(console_backend& backend, kj::Timer& timer);

} // namespace cascade::rpc
