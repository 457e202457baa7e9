// The command line (DESIGN.md §1), parsed by hand: CAF 0.17's parser rejects "--dir X".
// Pure: no I/O; main() acts on the result.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace cascade::app {

enum class log_level { trace, debug, info, warn, error };

struct host_port {
  std::string host;
  std::uint16_t port = 0;
};

struct run_options {
  std::string dir;                     // --dir (required)
  std::uint16_t port = 50051;          // --port N (0: pick a free one)
  std::string listen = "0.0.0.0";      // --listen ADDR
  std::vector<host_port> peers;        // --peer HOST:PORT, repeatable
  bool discovery = true;               // --no-discovery turns it off
  std::optional<std::string> key;      // --key KEY
  std::optional<std::string> key_file; // --key-file FILE
  std::optional<std::string> state;    // --state DIR (default DIR/.cascade)
  log_level level = log_level::info;   // --log-level
  std::vector<std::string> deny;       // --deny ID, repeatable: record and exit
  std::uint32_t max_transfers = 0;     // --max-transfers N (1-16); 0: from the core count
  std::uint32_t keep_versions = 30;    // --keep-versions DAYS; 0: no versions kept
  // --versions-max-mib N: the cap on all versions (0: none); unset: 10% of the folder, >= 1 GiB
  std::optional<std::uint32_t> versions_max_mib;
  // --mode send-receive|send-only|receive-only (checked here); unset: the mode stored in the
  // state directory, else send-receive.
  std::optional<std::string> mode;
};

struct keygen_command {};
struct id_command {
  std::string dir;
  std::optional<std::string> state;
};
struct console_command {
  std::string dir;
  std::optional<std::string> state; // --state DIR, as given to the node
  bool json = false;
  std::vector<std::string> words; // the command to run once; empty: interactive
};
struct help_command {
  std::string text;
};
struct version_command {
  std::string text; // "cascade VERSION\n"
};

// A usage error: exit code 2 and this message (it names the offending flag or value).
struct usage_error {
  std::string message;
};

using command = std::variant<run_options, keygen_command, id_command, console_command, help_command,
                             version_command, usage_error>;

// args excludes argv[0]. Accepts "--flag value" and "--flag=value".
command parse_command_line(const std::vector<std::string>& args);

// The text of `node --help`.
std::string usage_text();

// The text of `node --version`: "cascade VERSION", meson's project version.
std::string version_text();

} // namespace cascade::app
