// Inside `node console` (app/console.hpp is its entry point): the command table, one connection
// to the node, and the three ways of using it. console.cpp connects and runs one command,
// console_interactive.cpp the line-edited session, console_top.cpp the live view.
#pragma once

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <string>
#include <vector>

#include "app/console_output.hpp"

namespace cascade::app::console_client {

struct command_info {
  const char* name;
  const char* usage;
  const char* help;
  std::size_t min_args, max_args;
};

inline constexpr command_info commands[] = {
    {"status", "status",
     "device id, group, folder, files, bytes, in sync or what is pending, uptime, latency", 0, 0},
    {"errors", "errors",
     "what is wrong now (a full disk, failed installs, unreadable files, unwatched directories), "
     "since when; cleared when it heals",
     0, 0},
    {"peers", "peers",
     "every peer: device id, address, how found, state, round trip, bytes and rates each way, "
     "latency, last error",
     0, 0},
    {"actors", "actors", "every actor: kind, name, mailbox length and its own state", 0, 0},
    {"transfers", "transfers", "files in flight: size, progress, rate, ETA, upstream, downstreams",
     0, 0},
    {"files", "files [GLOB]",
     "index records matching GLOB (* ? [..]; a plain path: it and what is below it); "
     "files --ignored [GLOB]: what the ignore patterns hide on disk",
     0, 2},
    {"ignores", "ignores",
     "the active ignore patterns (.cascadeignore), each with its file and line", 0, 0},
    {"conflicts", "conflicts", "conflict copies and the files they belong to", 0, 0},
    {"versions", "versions [GLOB]",
     "what peers deleted, overwrote or renamed away, kept: path, time (UTC), size", 0, 1},
    {"restore", "restore PATH [TIME]",
     "put the newest version of PATH (or the one from TIME, as versions lists it) back; it syncs "
     "as a local change, and the file it replaces becomes a version",
     1, 2},
    {"pause", "pause",
     "stop sending and applying changes (local ones are still recorded; transfers stop, keeping "
     "their chunks); kept across restarts",
     0, 0},
    {"resume", "resume", "end a pause: catch up with the peers at once", 0, 0},
    {"out-of-sync", "out-of-sync [GLOB]",
     "send-only: paths where the group's version differs from ours (new, modified, deleted)", 0, 1},
    {"override", "override",
     "send-only: announce our state of every out-of-sync path as a new version over the group's", 0,
     0},
    {"local-changes", "local-changes [GLOB]",
     "receive-only: our changes, recorded but not sent to the group", 0, 1},
    {"revert", "revert",
     "receive-only: move our local changes to the versions and fetch the group's state again", 0,
     0},
    {"rescan", "rescan [PATH]", "walk the folder (or PATH in it) now and record what changed", 0,
     1},
    {"log", "log LEVEL", "set the node's log level: trace, debug, info, warn or error", 1, 1},
    {"deny", "deny ID", "remove a device from the group now, as node --deny does", 1, 1},
    {"top", "top", "a live view refreshed every second (q or Ctrl+C quits)", 0, 0},
    {"help", "help", "this list", 0, 0},
};

const command_info* find_command(const std::string& name);

// One connection to the node.
class session {
public:
  session(kj::AsyncIoContext& io, int fd, std::string path, bool as_json)
      : io_(io), stream_(io.lowLevelProvider->wrapSocketFd(
                     fd, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP |
                             kj::LowLevelAsyncIoProvider::ALREADY_CLOEXEC)),
        client_(*stream_), cap_(client_.bootstrap().castAs<cw::Console>()), path_(std::move(path)),
        json_(as_json) {}

  cw::Console::Client& cap() { return cap_; }
  bool json() const { return json_; }

  template <class T>
  capnp::Response<T> wait(capnp::RemotePromise<T>&& p, kj::Duration limit = 15 * kj::SECONDS) {
    auto r = io_.provider->getTimer()
                 .timeoutAfter(limit, kj::Promise<capnp::Response<T>>(kj::mv(p)))
                 .wait(io_.waitScope);
    answered_ = true;
    return r;
  }

  // A failed call, in words; `fatal` is set when the connection is gone.
  std::string describe(const kj::Exception& e, bool& fatal) const {
    std::string d = e.getDescription().cStr();
    const std::string remote = "remote exception: ";
    if (d.rfind(remote, 0) == 0)
      d = d.substr(remote.size());
    fatal = e.getType() == kj::Exception::Type::DISCONNECTED;
    if (!fatal)
      return d.find("timed out") != std::string::npos ? "the node did not answer in time" : d;
    struct stat st {};
    if (!answered_ && ::stat(path_.c_str(), &st) == 0 && st.st_uid != ::geteuid())
      return "the node refused the connection: only the user running it (uid " +
             std::to_string(st.st_uid) + ") may use its console";
    return answered_ ? "lost the connection to the node (did it stop?)"
                     : "the node closed the connection at once (" + d + ")";
  }

private:
  kj::AsyncIoContext& io_;
  kj::Own<kj::AsyncIoStream> stream_;
  capnp::TwoPartyClient client_;
  cw::Console::Client cap_;
  std::string path_;
  bool json_;
  bool answered_ = false;
};

// Prints an error the way the output mode wants it; returns `code`.
int report_error(bool as_json, const std::string& message, int code = 1);
void print_json(json& j);

// Runs one command (words[0] and its arguments) and prints its answer; returns the exit code.
int run_command(session& s, const std::vector<std::string>& words);
// The interactive session (console_interactive.cpp).
int run_interactive(session& s);
// The live view (console_top.cpp).
int run_top(session& s);

} // namespace cascade::app::console_client
