// `node console`: connects to a running node's console socket and speaks schema/console.capnp.
// One command and exit (here), an interactive session (libedit: line editing, history in
// ~/.cascade_console_history, tab completion of commands; console_interactive.cpp), or `top`, a
// live view (console_top.cpp).
#include "app/console.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <sstream>

#include "app/console_client.hpp"
#include "rpc/console_server.hpp"

namespace cascade::app {

namespace console_client {

const command_info* find_command(const std::string& name) {
  for (auto& c : commands)
    if (name == c.name)
      return &c;
  return nullptr;
}

int report_error(bool as_json, const std::string& message, int code) {
  if (as_json) {
    json j;
    j.begin_object().key("error").value(message).end_object();
    std::cout << j.str() << "\n" << std::flush;
  } else {
    std::cerr << "node console: " << message << "\n";
  }
  return code;
}

void print_json(json& j) {
  std::cout << j.str() << "\n" << std::flush;
}

namespace {

std::string help_text() {
  std::ostringstream o;
  std::size_t width = 0; // the longest usage and two spaces: the help text starts in one column
  for (auto& c : commands)
    width = std::max(width, std::strlen(c.usage) + 2);
  auto line = [&](const char* usage, const char* help) {
    o << "  " << usage << std::string(width - std::strlen(usage), ' ') << help << "\n";
  };
  o << "commands:\n";
  for (auto& c : commands)
    line(c.usage, c.help);
  line("quit", "leave (interactive; also Ctrl+D)");
  return o.str();
}

std::string socket_path(const console_command& c) {
  auto state = c.state ? *c.state : c.dir + "/.cascade";
  return state + "/console.sock";
}

} // namespace

// --- one command ---

int run_command(session& s, const std::vector<std::string>& words) {
  bool as_json = s.json();
  const auto& name = words.front();
  auto* c = find_command(name);
  if (!c)
    return report_error(as_json, "unknown command '" + name + "' (try: help)", 2);
  auto args = words.size() - 1;
  if (args < c->min_args || args > c->max_args)
    return report_error(as_json, std::string("usage: ") + c->usage, 2);
  auto arg = args ? words[1] : std::string();
  try {
    json j;
    if (name == "help") {
      if (!as_json) {
        std::cout << help_text();
        return 0;
      }
      j.begin_object().key("commands").begin_array();
      for (auto& cmd : commands)
        j.begin_object()
            .key("name")
            .value(cmd.name)
            .key("usage")
            .value(cmd.usage)
            .key("help")
            .value(cmd.help)
            .end_object();
      j.end_array().end_object();
    } else if (name == "status") {
      auto r = s.wait(s.cap().statusRequest().send());
      if (!as_json) {
        std::cout << text_status(r.getStatus());
        return 0;
      }
      json_status(j, r.getStatus());
    } else if (name == "errors") {
      auto r = s.wait(s.cap().statusRequest().send());
      auto faults = r.getStatus().getFaults();
      if (!as_json) {
        std::cout << (faults.size() ? text_faults(faults) : std::string("no faults\n"));
        return 0;
      }
      j.begin_object().key("faults");
      json_faults(j, faults);
      j.end_object();
    } else if (name == "peers") {
      auto r = s.wait(s.cap().peersRequest().send());
      if (!as_json) {
        std::cout << text_peers(r.getPeers());
        return 0;
      }
      j.begin_object().key("peers");
      json_peers(j, r.getPeers());
      j.end_object();
    } else if (name == "actors") {
      auto r = s.wait(s.cap().actorsRequest().send());
      if (!as_json) {
        std::cout << text_actors(r.getActors());
        return 0;
      }
      j.begin_object().key("actors");
      json_actors(j, r.getActors());
      j.end_object();
    } else if (name == "transfers") {
      auto r = s.wait(s.cap().transfersRequest().send());
      if (!as_json) {
        std::cout << text_transfers(r.getTransfers());
        return 0;
      }
      j.begin_object().key("transfers");
      json_transfers(j, r.getTransfers());
      j.end_object();
    } else if (name == "files" && arg == "--ignored") {
      auto req = s.cap().ignoredFilesRequest();
      req.setGlob(args > 1 ? words[2] : std::string());
      auto r = s.wait(req.send(), 140 * kj::SECONDS);
      if (!as_json) {
        std::cout << text_ignored(r.getPaths(), r.getTruncated());
        return 0;
      }
      json_ignored(j, r.getPaths(), r.getTruncated());
    } else if (name == "files" && args > 1) {
      return report_error(as_json, std::string("usage: ") + c->usage, 2);
    } else if (name == "ignores") {
      auto r = s.wait(s.cap().ignoresRequest().send());
      if (!as_json) {
        std::cout << text_ignores(r.getPatterns(), r.getWarnings());
        return 0;
      }
      json_ignores(j, r.getPatterns(), r.getWarnings());
    } else if (name == "files") {
      auto req = s.cap().filesRequest();
      req.setGlob(arg);
      auto r = s.wait(req.send());
      if (!as_json) {
        std::cout << text_files(r.getFiles(), r.getTruncated());
        return 0;
      }
      json_files(j, r.getFiles(), r.getTruncated());
    } else if (name == "conflicts") {
      auto r = s.wait(s.cap().conflictsRequest().send());
      if (!as_json) {
        std::cout << text_conflicts(r.getConflicts());
        return 0;
      }
      j.begin_object().key("conflicts");
      json_conflicts(j, r.getConflicts());
      j.end_object();
    } else if (name == "versions") {
      auto req = s.cap().versionsRequest();
      req.setGlob(arg);
      auto r = s.wait(req.send());
      if (!as_json) {
        std::cout << text_versions(r.getVersions());
        return 0;
      }
      j.begin_object().key("versions");
      json_versions(j, r.getVersions());
      j.end_object();
    } else if (name == "restore") {
      auto req = s.cap().restoreRequest();
      req.setPath(arg);
      req.setTime(args > 1 ? words[2] : std::string());
      auto r = s.wait(req.send());
      if (!as_json) {
        std::cout << r.getMessage().cStr() << "\n";
        return 0;
      }
      j.begin_object().key("message").value(r.getMessage().cStr()).end_object();
    } else if (name == "pause" || name == "resume") {
      std::string r = name == "pause" ? s.wait(s.cap().pauseRequest().send()).getMessage().cStr()
                                      : s.wait(s.cap().resumeRequest().send()).getMessage().cStr();
      if (!as_json) {
        std::cout << r << "\n";
        return 0;
      }
      j.begin_object().key("message").value(r).end_object();
    } else if (name == "out-of-sync" || name == "local-changes") {
      bool local = name == "local-changes";
      auto show = [&](auto r) {
        if (!as_json) {
          std::cout << text_mode_paths(r.getPaths(), r.getChanges(), r.getTruncated(),
                                       local ? "no local changes" : "nothing is out of sync");
          return;
        }
        json_mode_paths(j, r.getPaths(), r.getChanges(), r.getTruncated());
      };
      if (local) {
        auto req = s.cap().localChangesRequest();
        req.setGlob(arg);
        show(s.wait(req.send()));
      } else {
        auto req = s.cap().outOfSyncRequest();
        req.setGlob(arg);
        show(s.wait(req.send()));
      }
      if (!as_json)
        return 0;
    } else if (name == "override" || name == "revert") {
      std::string r =
          name == "override"
              ? s.wait(s.cap().overrideGroupRequest().send(), 70 * kj::SECONDS).getMessage().cStr()
              : s.wait(s.cap().revertLocalRequest().send(), 70 * kj::SECONDS).getMessage().cStr();
      if (!as_json) {
        std::cout << r << "\n";
        return 0;
      }
      j.begin_object().key("message").value(r).end_object();
    } else if (name == "rescan") {
      auto req = s.cap().rescanRequest();
      req.setPath(arg);
      auto r = s.wait(req.send(), 140 * kj::SECONDS);
      if (!as_json) {
        std::cout << "rescanned " << (arg.empty() ? std::string("the folder") : arg) << ": "
                  << r.getScanned() << " entries, " << r.getChanges() << " changes recorded, "
                  << r.getHashing() << " files being hashed\n";
        return 0;
      }
      j.begin_object().key("path");
      if (arg.empty())
        j.null();
      else
        j.value(arg);
      j.key("scanned")
          .value(r.getScanned())
          .key("changes")
          .value(r.getChanges())
          .key("hashing")
          .value(r.getHashing())
          .end_object();
    } else if (name == "log") {
      auto req = s.cap().setLogLevelRequest();
      req.setLevel(arg);
      auto r = s.wait(req.send());
      std::string level = arg;
      for (auto& ch : level)
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (!as_json) {
        std::cout << "log level " << level << " (was " << r.getPrevious().cStr() << ")\n";
        return 0;
      }
      j.begin_object()
          .key("level")
          .value(level)
          .key("previous")
          .value(r.getPrevious().cStr())
          .end_object();
    } else if (name == "deny") {
      auto req = s.cap().denyRequest();
      req.setDeviceId(arg);
      auto r = s.wait(req.send());
      if (!as_json) {
        std::cout << r.getMessage().cStr() << "\n";
        return 0;
      }
      j.begin_object()
          .key("device_id")
          .value(arg)
          .key("message")
          .value(r.getMessage().cStr())
          .end_object();
    } else if (name == "top") {
      return run_top(s);
    }
    print_json(j);
    return 0;
  } catch (kj::Exception& e) {
    bool fatal = false;
    return report_error(as_json, s.describe(e, fatal));
  }
}

} // namespace console_client

int run_console(const console_command& c) {
  using namespace console_client;
  auto path = socket_path(c);
  if (!c.words.empty() && !find_command(c.words.front()))
    return report_error(c.json, "unknown command '" + c.words.front() + "' (try: help)", 2);
  if (!c.words.empty() && c.words.front() == "help" && c.words.size() == 1 && !c.json) {
    std::cout << help_text(); // needs no node
    return 0;
  }
  int fd = rpc::connect_unix(path);
  if (fd < 0) {
    int e = errno;
    std::string why;
    if (e == ENOENT || e == ENOTDIR)
      why = "no node is running for " + c.dir + " (no console socket at " + path +
            "); start one with: node --dir " + c.dir;
    else if (e == ECONNREFUSED)
      why = "no node is running for " + c.dir + " (" + path +
            " is left over from a node that did not stop cleanly)";
    else if (e == EACCES || e == EPERM) {
      struct stat st {};
      why = "permission denied for " + path + ": only the user running the node" +
            (::stat(path.c_str(), &st) == 0 ? " (uid " + std::to_string(st.st_uid) + ")" : "") +
            " may use its console";
    } else
      why = "cannot connect to " + path + ": " + std::strerror(e);
    return report_error(c.json, why);
  }
  try {
    auto io = kj::setupAsyncIo();
    session s(io, fd, path, c.json);
    if (c.words.empty())
      return run_interactive(s);
    return run_command(s, c.words);
  } catch (kj::Exception& e) {
    return report_error(c.json, std::string("console: ") + e.getDescription().cStr());
  }
}

} // namespace cascade::app
