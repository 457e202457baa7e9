// `node console`: connects to a running node's console socket and speaks schema/console.capnp.
// One command and exit, an interactive session (libedit: line editing, history in
// ~/.cascade_console_history, tab completion of commands), or `top`, a live view.
#include "app/console.hpp"

#include <capnp/rpc-twoparty.h>
#include <editline/readline.h>
#include <kj/async-io.h>
#include <poll.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <iostream>
#include <optional>
#include <sstream>

#include "app/console_output.hpp"
#include "rpc/console_server.hpp"

namespace cascade::app {

namespace {

struct command_info {
  const char* name;
  const char* usage;
  const char* help;
  std::size_t min_args, max_args;
};

const command_info commands[] = {
    {"status", "status",
     "device id, group, folder, files, bytes, in sync or what is pending, uptime, latency", 0, 0},
    {"peers", "peers",
     "every peer: device id, address, how found, state, round trip, bytes and rates each way, "
     "latency, last error",
     0, 0},
    {"actors", "actors", "every actor: kind, name, mailbox length and its own state", 0, 0},
    {"transfers", "transfers", "files in flight: size, progress, rate, ETA, upstream, downstreams",
     0, 0},
    {"files", "files [GLOB]",
     "index records matching GLOB (* ? [..]; a plain path: it and what is below it)", 0, 1},
    {"conflicts", "conflicts", "conflict copies and the files they belong to", 0, 0},
    {"rescan", "rescan [PATH]", "walk the folder (or PATH in it) now and record what changed", 0,
     1},
    {"log", "log LEVEL", "set the node's log level: trace, debug, info, warn or error", 1, 1},
    {"deny", "deny ID", "remove a device from the group now, as node --deny does", 1, 1},
    {"top", "top", "a live view refreshed every second (q or Ctrl+C quits)", 0, 0},
    {"help", "help", "this list", 0, 0},
};

const command_info* find_command(const std::string& name) {
  for (auto& c : commands)
    if (name == c.name)
      return &c;
  return nullptr;
}

volatile std::sig_atomic_t interrupted = 0;
void on_signal(int) {
  interrupted = 1;
}

// Handlers without SA_RESTART, so a waiting poll() returns at once; restored on scope exit.
struct signal_scope {
  struct sigaction old_int {
  }, old_term{};
  signal_scope() {
    interrupted = 0;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
  }
  ~signal_scope() {
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
  }
};

std::string socket_path(const console_command& c) {
  auto state = c.state ? *c.state : c.dir + "/.cascade";
  return state + "/console.sock";
}

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
int report_error(bool as_json, const std::string& message, int code = 1) {
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

std::string help_text() {
  std::ostringstream o;
  o << "commands:\n";
  for (auto& c : commands)
    o << "  " << c.usage << std::string(16 - std::min<std::size_t>(15, std::strlen(c.usage)), ' ')
      << c.help << "\n";
  o << "  quit            leave (interactive; also Ctrl+D)\n";
  return o.str();
}

// --- top ---

std::string short_id(capnp::Text::Reader id, const char* none = "?") {
  std::string s(id.cStr(), id.size());
  return s.empty() ? std::string(none) : s.substr(0, 15);
}

struct raw_terminal {
  bool active = false;
  termios saved{};
  raw_terminal() {
    if (!::isatty(0) || tcgetattr(0, &saved) != 0)
      return;
    termios t = saved;
    t.c_lflag &= static_cast<tcflag_t>(~(ICANON | ECHO)); // keys at once; Ctrl+C still signals
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    active = tcsetattr(0, TCSANOW, &t) == 0;
  }
  ~raw_terminal() {
    if (active)
      tcsetattr(0, TCSANOW, &saved);
  }
};

std::string top_frame(cw::Status::Reader s, capnp::List<cw::Peer>::Reader peers,
                      capnp::List<cw::Transfer>::Reader transfers) {
  std::ostringstream o;
  o << "cascade top   " << std::string(s.getDeviceId().cStr()) << "   up "
    << human_duration_ns(s.getUptimeNs()) << "   (q or Ctrl+C quits)\n";
  o << std::string(s.getFolder().cStr()) << ": " << s.getFiles() << " files, "
    << human_bytes(static_cast<double>(s.getBytes())) << ", sequence " << s.getSequence() << ", ";
  if (s.getHalted())
    o << "HALTED";
  else if (s.getInSync())
    o << "in sync";
  else
    o << s.getNeededFiles() << " to receive ("
      << human_bytes(static_cast<double>(s.getNeededBytes())) << "), " << s.getTransfers()
      << " transfers, " << s.getHashing() << " hashing, " << s.getPeersBehind() << " peers behind";
  o << "\n";
  auto l = s.getLatency();
  o << "latency  ";
  if (l.getCount())
    o << "p50 " << human_duration_ns(l.getP50Ns()) << "  p95 " << human_duration_ns(l.getP95Ns())
      << "  p99 " << human_duration_ns(l.getP99Ns()) << "  (" << l.getCount() << " changes)\n";
  else
    o << "no changes received yet\n";
  o << "\nPEERS\n";
  if (peers.size() == 0)
    o << "  (none)\n";
  char line[256];
  for (auto p : peers) {
    std::snprintf(line, sizeof line, "  %-16s %-12s rtt %-9s in %10s/s  out %10s/s",
                  short_id(p.getDeviceId()).c_str(), p.getState().cStr(),
                  p.getRttNs() < 0 ? "-" : human_duration_ns(p.getRttNs()).c_str(),
                  human_bytes(p.getRateIn()).c_str(), human_bytes(p.getRateOut()).c_str());
    o << line;
    if (p.getHasLatency() && p.getLatency().getCount())
      o << "  latency p50 " << human_duration_ns(p.getLatency().getP50Ns()) << " p99 "
        << human_duration_ns(p.getLatency().getP99Ns());
    o << "\n";
  }
  o << "\nTRANSFERS\n";
  if (transfers.size() == 0)
    o << "  (none)\n";
  for (auto t : transfers) {
    auto done = t.getFetched() + t.getCopied();
    double f = t.getSize() ? static_cast<double>(done) / static_cast<double>(t.getSize()) : 1;
    std::string eta = t.getRate() > 0
                          ? human_duration_ns(static_cast<std::int64_t>(
                                static_cast<double>(t.getSize() - done) / t.getRate() * 1e9))
                          : "-";
    std::snprintf(
        line, sizeof line, "  %s %5.1f%%  %9s of %-9s %10s/s  ETA %-8s from %s",
        progress_bar(f, 30).c_str(), f * 100, human_bytes(static_cast<double>(done)).c_str(),
        human_bytes(static_cast<double>(t.getSize())).c_str(), human_bytes(t.getRate()).c_str(),
        eta.c_str(), short_id(t.getUpstream(), "this node").c_str());
    o << "  " << t.getPath().cStr();
    for (auto d : t.getDownstreams())
      o << "  -> " << short_id(d);
    o << "\n" << line << "\n";
  }
  return o.str();
}

int run_top(session& s) {
  signal_scope signals;
  raw_terminal raw;
  bool fancy = ::isatty(1) && !s.json();
  bool input_open = true;
  if (fancy)
    std::cout << "\x1b[?25l"; // hide the cursor while we redraw
  int rc = 0;
  while (!interrupted) {
    auto frame_start = std::chrono::steady_clock::now();
    try {
      auto st = s.wait(s.cap().statusRequest().send(), 5 * kj::SECONDS);
      auto pe = s.wait(s.cap().peersRequest().send(), 5 * kj::SECONDS);
      auto tr = s.wait(s.cap().transfersRequest().send(), 5 * kj::SECONDS);
      if (s.json()) {
        json j;
        j.begin_object().key("status");
        json_status(j, st.getStatus());
        j.key("peers");
        json_peers(j, pe.getPeers());
        j.key("transfers");
        json_transfers(j, tr.getTransfers());
        j.end_object();
        print_json(j);
      } else {
        auto text = top_frame(st.getStatus(), pe.getPeers(), tr.getTransfers());
        if (fancy)
          std::cout << "\x1b[H\x1b[2J" << text << std::flush;
        else
          std::cout << text << "----\n" << std::flush;
      }
    } catch (kj::Exception& e) {
      bool fatal = false;
      auto msg = s.describe(e, fatal);
      if (fatal) {
        rc = report_error(s.json(), msg);
        break;
      }
      if (!s.json())
        std::cout << "(" << msg << ")\n" << std::flush;
    }
    // Wait for the next second, or a key.
    bool quit = false;
    while (!interrupted && !quit) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      frame_start + std::chrono::seconds(1) - std::chrono::steady_clock::now())
                      .count();
      if (left <= 0)
        break;
      pollfd pfd{0, POLLIN, 0};
      int n = ::poll(input_open ? &pfd : nullptr, input_open ? 1 : 0, static_cast<int>(left));
      if (n > 0) {
        char buf[64];
        auto got = ::read(0, buf, sizeof buf);
        if (got <= 0) {
          input_open = false; // end of input: keep going until a signal
          continue;
        }
        for (ssize_t k = 0; k < got; ++k)
          quit = quit || buf[k] == 'q' || buf[k] == 'Q' || buf[k] == 3 /* Ctrl+C, raw */;
      }
    }
    if (quit)
      break;
  }
  if (fancy)
    std::cout << "\x1b[?25h" << std::flush;
  return rc;
}

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

// Splits a line into words; "double quotes" keep spaces.
std::vector<std::string> split_words(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false, any = false;
  for (char ch : line) {
    if (ch == '"') {
      quoted = !quoted;
      any = true;
    } else if (!quoted && std::isspace(static_cast<unsigned char>(ch))) {
      if (any)
        out.push_back(cur);
      cur.clear();
      any = false;
    } else {
      cur += ch;
      any = true;
    }
  }
  if (any)
    out.push_back(cur);
  return out;
}

// --- interactive ---

const char* const levels[] = {"trace", "debug", "info", "warn", "error"};

char* generate_from(const char* text, int state, const std::vector<const char*>& words) {
  static std::size_t next;
  if (state == 0)
    next = 0;
  auto len = std::strlen(text);
  while (next < words.size()) {
    const char* w = words[next++];
    if (std::strncmp(w, text, len) == 0)
      return ::strdup(w);
  }
  return nullptr;
}

char* command_generator(const char* text, int state) {
  static std::vector<const char*> names = [] {
    std::vector<const char*> v;
    for (auto& c : commands)
      v.push_back(c.name);
    v.push_back("quit");
    v.push_back("exit");
    return v;
  }();
  return generate_from(text, state, names);
}

char* level_generator(const char* text, int state) {
  static std::vector<const char*> names(std::begin(levels), std::end(levels));
  return generate_from(text, state, names);
}

char** complete(const char* text, int start, int) {
  rl_attempted_completion_over = 1; // no file names: paths here are inside the node's folder
  auto before = split_words(std::string(rl_line_buffer, static_cast<std::size_t>(start)));
  if (before.empty())
    return rl_completion_matches(text, command_generator);
  if (before.size() == 1 && before[0] == "log")
    return rl_completion_matches(text, level_generator);
  return nullptr;
}

int run_interactive(session& s) {
  bool tty = ::isatty(0);
  std::string history;
  if (tty) {
    if (const char* home = std::getenv("HOME"))
      history = std::string(home) + "/.cascade_console_history";
    rl_readline_name = "cascade";
    rl_attempted_completion_function = complete;
    using_history();
    stifle_history(1000);
    if (!history.empty())
      read_history(history.c_str());
    std::cout << "cascade console: " << (s.json() ? "JSON answers; " : "")
              << "help lists the commands, Tab completes them, Ctrl+D leaves\n";
  }
  int rc = 0; // 1 only if the connection is lost: a failed command is just shown
  while (true) {
    std::string line;
    if (tty) {
      char* raw = readline("cascade> ");
      if (!raw)
        break;
      line = raw;
      std::free(raw);
    } else if (!std::getline(std::cin, line)) {
      break;
    }
    auto words = split_words(line);
    if (words.empty())
      continue;
    if (tty)
      add_history(line.c_str());
    if (words[0] == "quit" || words[0] == "exit")
      break;
    if (run_command(s, words) == 1) {
      // A lost connection ends the session; other failures do not.
      try {
        s.wait(s.cap().statusRequest().send(), 5 * kj::SECONDS);
      } catch (kj::Exception& e) {
        bool fatal = false;
        s.describe(e, fatal);
        if (fatal) {
          rc = 1;
          break;
        }
      }
    }
    std::cout << std::flush;
  }
  if (tty) {
    if (!history.empty() && write_history(history.c_str()) == 0)
      ::chmod(history.c_str(), 0600);
    std::cout << "\n";
  }
  return rc;
}

} // namespace

int run_console(const console_command& c) {
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
