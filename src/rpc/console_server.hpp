// The debug console's server (DESIGN.md §9): a unix socket <state>/console.sock, mode 0600 from
// the moment it exists, served by a KJ event loop on a thread of its own with the Cap'n Proto
// interface of schema/console.capnp. Only the user running the node may connect: the file mode
// keeps others out, and every accepted peer's SO_PEERCRED uid must be ours as well.
// No KJ or Cap'n Proto type crosses this header.
#pragma once

#include <memory>
#include <string>

#include "core/introspection.hpp"

namespace cascade::rpc {

// Where the answer to one question goes: the server's side of it (a KJ cross-thread promise,
// console_handlers.cpp). A plain object, not a closure, so that it can travel in an actor
// message as a value.
class console_reply {
public:
  virtual ~console_reply() = default;
  // Called at most once, on any thread. A reply destroyed unfulfilled (the node stops) makes
  // the server answer with an error.
  virtual void fulfil(core::console_answer a) = 0;
};

// What the server asks; implemented by the actors (actors::make_console_backend).
class console_backend {
public:
  virtual ~console_backend() = default;
  // Called on the console thread; returns at once. `reply` is fulfilled once, later, on any
  // thread (or dropped unfulfilled when the node stops).
  virtual void ask(core::console_query q, std::shared_ptr<console_reply> reply) = 0;
};

class console_server {
public:
  explicit console_server(std::string socket_path);
  ~console_server();
  console_server(const console_server&) = delete;
  console_server& operator=(const console_server&) = delete;

  // Creates and listens on the socket, 0600 before anyone can connect. Call it before other
  // threads exist: it narrows the umask around bind(). Replaces a stale socket file; throws
  // std::runtime_error if the path is taken by a live node or cannot be bound.
  void bind();
  // Serves on a thread of its own until stop(); `backend` must outlive that.
  void start(console_backend& backend);
  // Stops accepting, drops every console connection, joins the thread, removes the socket.
  void stop();

  const std::string& path() const;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

// A connected unix stream socket to `path` (for paths longer than sun_path, through
// /proc/self/fd). Returns the fd, or -1 with errno set.
int connect_unix(const std::string& path);

} // namespace cascade::rpc
