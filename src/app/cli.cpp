#include "app/cli.hpp"
#include "app/version.hpp" // configured by meson: CASCADE_VERSION

#include <charconv>
#include <string_view>

namespace cascade::app {
namespace {

constexpr std::string_view dir_required = "--dir is required (see node --help)";
constexpr std::uint32_t max_keep_days = 36500;       // a century
constexpr std::uint32_t max_versions_mib = 1u << 30; // 1 PiB

// One "--name[=value]" argument taken apart.
struct flag {
  std::string name;                 // with the dashes: "--port"
  std::optional<std::string> value; // only for the "=" form
};

flag split_flag(const std::string& arg) {
  const std::size_t eq = arg.find('=');
  if (eq == std::string::npos)
    return {arg, std::nullopt};
  return {arg.substr(0, eq), arg.substr(eq + 1)};
}

bool is_flag(std::string_view arg) {
  return arg.size() > 1 && arg.front() == '-';
}

// Walks the arguments and hands out flag values, so each parser below is a flat list of cases.
class cursor {
public:
  explicit cursor(const std::vector<std::string>& args, std::size_t start = 0)
      : args_(args), i_(start) {}
  bool done() const { return i_ >= args_.size(); }
  const std::string& next() { return args_[i_++]; }

  // The flag's value: the "=" part, or else the next argument unless it looks like a flag
  // ("--dir --port 1" is a forgotten value, not a directory named "--port").
  std::optional<std::string> value(const flag& f, std::string& error) {
    std::optional<std::string> v = f.value;
    if (!v && !done() && !args_[i_].starts_with("--"))
      v = args_[i_++];
    if (!v || v->empty()) {
      error = f.name + " needs a value";
      return std::nullopt;
    }
    return v;
  }

private:
  const std::vector<std::string>& args_;
  std::size_t i_;
};

std::optional<std::uint32_t> parse_number(std::string_view s, std::uint32_t max) {
  std::uint32_t v = 0;
  if (s.empty() || s.size() > 10)
    return std::nullopt;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 10);
  if (ec != std::errc{} || ptr != s.data() + s.size() || v > max)
    return std::nullopt;
  return v;
}

// "host:port" or "[v6addr]:port"; the brackets are dropped from host.
std::optional<host_port> parse_host_port(std::string_view s) {
  const std::size_t colon = s.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    return std::nullopt;
  std::string_view host = s.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']')
      return std::nullopt;
    host = host.substr(1, host.size() - 2);
  } else if (host.find_first_of(":[]") != std::string_view::npos) {
    return std::nullopt; // a bare IPv6 address is ambiguous: "::1:80" could be either
  }
  const auto port = parse_number(s.substr(colon + 1), 65535);
  if (!port || *port == 0)
    return std::nullopt; // port 0 cannot be dialled
  return host_port{std::string(host), static_cast<std::uint16_t>(*port)};
}

std::optional<log_level> parse_level(std::string_view s) {
  if (s == "trace")
    return log_level::trace;
  if (s == "debug")
    return log_level::debug;
  if (s == "info")
    return log_level::info;
  if (s == "warn")
    return log_level::warn;
  if (s == "error")
    return log_level::error;
  return std::nullopt;
}

// Stores a single-use option; repeating one is an error rather than a silent "last one wins",
// since syncing the wrong directory is expensive to undo.
bool set_once(std::optional<std::string>& slot, std::string v, const flag& f, std::string& error) {
  if (slot) {
    error = f.name + " given more than once";
    return false;
  }
  slot = std::move(v);
  return true;
}

command unknown(const std::string& arg, std::string_view context) {
  std::string m = "unknown option '" + arg + "'";
  if (!context.empty())
    m += " for '" + std::string(context) + "'";
  return usage_error{m + " (see node --help)"};
}

command no_value_allowed(const flag& f) {
  return usage_error{f.name + " takes no value"};
}

command parse_run(const std::vector<std::string>& args) {
  run_options o;
  std::optional<std::string> dir, port, listen, level, transfers, keep_versions, versions_max;
  std::string error;
  cursor c(args);
  while (!c.done()) {
    const std::string& arg = c.next();
    if (!is_flag(arg))
      return usage_error{"unexpected argument '" + arg + "' (see node --help)"};
    const flag f = split_flag(arg);
    if (f.name == "--no-discovery") {
      if (f.value)
        return no_value_allowed(f);
      o.discovery = false;
      continue;
    }
    if (f.name != "--dir" && f.name != "--port" && f.name != "--listen" && f.name != "--peer" &&
        f.name != "--key" && f.name != "--key-file" && f.name != "--state" &&
        f.name != "--log-level" && f.name != "--deny" && f.name != "--max-transfers" &&
        f.name != "--keep-versions" && f.name != "--versions-max-mib" && f.name != "--mode")
      return unknown(f.value ? f.name : arg, "");
    auto v = c.value(f, error);
    if (!v)
      return usage_error{error};
    bool ok = true;
    if (f.name == "--dir") {
      ok = set_once(dir, *v, f, error);
    } else if (f.name == "--port") {
      ok = set_once(port, *v, f, error);
    } else if (f.name == "--listen") {
      ok = set_once(listen, *v, f, error);
    } else if (f.name == "--peer") {
      auto hp = parse_host_port(*v);
      if (!hp)
        return usage_error{"--peer: '" + *v + "' is not HOST:PORT (port 1-65535)"};
      o.peers.push_back(std::move(*hp));
    } else if (f.name == "--key") {
      ok = set_once(o.key, *v, f, error);
    } else if (f.name == "--key-file") {
      ok = set_once(o.key_file, *v, f, error);
    } else if (f.name == "--state") {
      ok = set_once(o.state, *v, f, error);
    } else if (f.name == "--deny") {
      o.deny.push_back(*v);
    } else if (f.name == "--max-transfers") {
      ok = set_once(transfers, *v, f, error);
    } else if (f.name == "--keep-versions") {
      ok = set_once(keep_versions, *v, f, error);
    } else if (f.name == "--versions-max-mib") {
      ok = set_once(versions_max, *v, f, error);
    } else if (f.name == "--mode") {
      if (*v != "send-receive" && *v != "send-only" && *v != "receive-only")
        return usage_error{"--mode: '" + *v +
                           "' is not one of send-receive|send-only|receive-only"};
      ok = set_once(o.mode, *v, f, error);
    } else {
      ok = set_once(level, *v, f, error);
    }
    if (!ok)
      return usage_error{error};
  }
  if (!dir)
    return usage_error{std::string(dir_required)};
  o.dir = *dir;
  if (port) {
    const auto n = parse_number(*port, 65535);
    if (!n)
      return usage_error{"--port: '" + *port + "' is not a port number (0-65535)"};
    o.port = static_cast<std::uint16_t>(*n);
  }
  if (listen)
    o.listen = *listen;
  if (level) {
    const auto l = parse_level(*level);
    if (!l)
      return usage_error{"--log-level: '" + *level + "' is not one of trace|debug|info|warn|error"};
    o.level = *l;
  }
  if (transfers) {
    const auto n = parse_number(*transfers, 16);
    if (!n || *n == 0)
      return usage_error{"--max-transfers: '" + *transfers + "' is not a number from 1 to 16"};
    o.max_transfers = *n;
  }
  if (keep_versions) {
    const auto n = parse_number(*keep_versions, max_keep_days);
    if (!n)
      return usage_error{"--keep-versions: '" + *keep_versions +
                         "' is not a number of days from 0 to " + std::to_string(max_keep_days) +
                         " (0 keeps no versions)"};
    o.keep_versions = *n;
  }
  if (versions_max) {
    const auto n = parse_number(*versions_max, max_versions_mib);
    if (!n)
      return usage_error{"--versions-max-mib: '" + *versions_max +
                         "' is not a number of MiB from 0 to " + std::to_string(max_versions_mib) +
                         " (0: no cap)"};
    o.versions_max_mib = *n;
  }
  if (o.key && o.key_file)
    return usage_error{"--key-file and --key are exclusive: give the group key one way"};
  return o;
}

command parse_id(const std::vector<std::string>& args) {
  std::optional<std::string> dir, state;
  std::string error;
  cursor c(args, 1);
  while (!c.done()) {
    const std::string& arg = c.next();
    if (!is_flag(arg))
      return usage_error{"id: unexpected argument '" + arg + "'"};
    const flag f = split_flag(arg);
    std::optional<std::string>* slot = f.name == "--dir"     ? &dir
                                       : f.name == "--state" ? &state
                                                             : nullptr;
    if (!slot)
      return unknown(f.value ? f.name : arg, "id");
    auto v = c.value(f, error);
    if (!v || !set_once(*slot, *v, f, error))
      return usage_error{error};
  }
  if (!dir)
    return usage_error{std::string(dir_required)};
  return id_command{*dir, state};
}

// Options may come before or after the command words ("status --json" reads naturally); a
// "--" ends the options, for a command word that starts with a dash.
command parse_console(const std::vector<std::string>& args) {
  console_command cmd;
  std::optional<std::string> dir;
  std::string error;
  cursor c(args, 1);
  bool options = true;
  while (!c.done()) {
    const std::string& arg = c.next();
    if (options && arg == "--") {
      options = false;
      continue;
    }
    if (!options || !arg.starts_with("--")) {
      cmd.words.push_back(arg); // "-x" too: only "--" options belong to us here
      continue;
    }
    const flag f = split_flag(arg);
    if (arg == "--ignored" && !cmd.words.empty()) {
      cmd.words.push_back(arg); // files --ignored: the command's own option
    } else if (f.name == "--json") {
      if (f.value)
        return no_value_allowed(f);
      cmd.json = true;
    } else if (f.name == "--dir") {
      auto v = c.value(f, error);
      if (!v || !set_once(dir, *v, f, error))
        return usage_error{error};
    } else if (f.name == "--state") {
      auto v = c.value(f, error);
      if (!v || !set_once(cmd.state, *v, f, error))
        return usage_error{error};
    } else {
      return unknown(f.value ? f.name : arg, "console");
    }
  }
  if (!dir)
    return usage_error{std::string(dir_required)};
  cmd.dir = *dir;
  return cmd;
}

} // namespace

command parse_command_line(const std::vector<std::string>& args) {
  for (const std::string& a : args)
    if (a == "--help" || a == "-h")
      return help_command{usage_text()};
  for (const std::string& a : args)
    if (a == "--version")
      return version_command{version_text()};
  if (args.empty())
    return usage_error{std::string(dir_required)};
  const std::string& first = args.front();
  if (first == "keygen") {
    if (args.size() > 1)
      return usage_error{"keygen takes no arguments, got '" + args[1] + "'"};
    return keygen_command{};
  }
  if (first == "id")
    return parse_id(args);
  if (first == "console")
    return parse_console(args);
  if (!is_flag(first))
    return usage_error{"unknown command '" + first + "' (commands: id, keygen, console; " +
                       "see node --help)"};
  return parse_run(args);
}

std::string usage_text() {
  return R"(usage:
node --dir DIR [options]        run the node for DIR (created if missing) until Ctrl+C / SIGTERM
  --port N                      TCP port to listen on, default 50051; 0 picks a free one (printed)
  --listen ADDR                 address to listen on, default all
  --peer HOST:PORT              a static peer, repeatable (used besides discovery);
                                an IPv6 host goes in brackets: [::1]:50051
  --no-discovery                no mDNS: neither publish nor browse
  --key KEY | --key-file FILE   the group key; peers sync only inside one group
  --state DIR                   state directory, default DIR/.cascade
  --log-level trace|debug|info|warn|error
                                how much to log, default info
  --max-transfers N             files sent or received at once (1-16), default
                                2 x cores, at least 8; the rest wait their turn
  --keep-versions DAYS          keep what peers delete, overwrite or rename away for DAYS
                                in DIR/.cascade/versions, default 30; 0 keeps nothing
  --versions-max-mib N          cap on all versions: the oldest go first; default 10% of
                                the folder's size (at least 1024); 0: no cap
  --mode send-receive|send-only|receive-only
                                send-only: peers' changes are not applied; receive-only:
                                ours are not sent; default: the mode stored in DIR/.cascade,
                                else send-receive (see docs/modes.md)
  --deny ID                     remove a device from this folder's group: its connections
                                drop (within 5 s on a running node) and it cannot reconnect;
                                records the id and exits
node id --dir DIR [--state DIR] print this node's device id (one line)
node keygen                     print a fresh group key (one line)
node console --dir DIR [--state DIR] [--json] [CMD]
                                the debug console (interactive; one command with CMD; --json);
                                CMD: status, peers, actors, transfers, files [--ignored] [GLOB],
                                ignores, conflicts, versions [GLOB], restore PATH [TIME],
                                pause, resume, out-of-sync [GLOB], override,
                                local-changes [GLOB], revert, rescan [PATH], log LEVEL,
                                deny ID, top, help (docs/console.md)
node --help | -h                this text
node --version                  print "cascade VERSION" and exit

Every option takes its value as "--flag value" or "--flag=value".
Exit codes: 0 after a clean shutdown, 2 for bad usage or config, 1 otherwise.
)";
}

std::string version_text() {
  return std::string("cascade ") + CASCADE_VERSION + "\n";
}

} // namespace cascade::app
