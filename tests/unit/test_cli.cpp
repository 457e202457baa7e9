#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "app/cli.hpp"
#include "app/version.hpp"

using namespace cascade::app;

namespace {

// "--dir X --port 1" -> a parsed command (words split on spaces; no quoting needed here).
command parse(const std::string& line) {
  std::vector<std::string> args;
  std::istringstream in(line);
  for (std::string w; in >> w;)
    args.push_back(w);
  return parse_command_line(args);
}

run_options run(const std::string& line) {
  const command c = parse(line);
  if (const auto* e = std::get_if<usage_error>(&c))
    FAIL("unexpected usage error: ", e->message);
  REQUIRE(std::holds_alternative<run_options>(c));
  return std::get<run_options>(c);
}

std::string error_of(const command& c) {
  const auto* e = std::get_if<usage_error>(&c);
  return e ? e->message : "<no error>";
}
std::string error_of(const std::string& line) {
  return error_of(parse(line));
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("cli: defaults with only --dir") {
  const run_options o = run("--dir /data");
  CHECK(o.dir == "/data");
  CHECK(o.port == 50051);
  CHECK(o.listen == "0.0.0.0");
  CHECK(o.peers.empty());
  CHECK(o.discovery);
  CHECK_FALSE(o.key.has_value());
  CHECK_FALSE(o.key_file.has_value());
  CHECK_FALSE(o.state.has_value());
  CHECK(o.level == log_level::info);
}

TEST_CASE("cli: every flag, in both forms") {
  for (const bool eq : {false, true}) {
    CAPTURE(eq);
    auto f = [&](const std::string& name, const std::string& value) {
      return eq ? name + "=" + value : name + " " + value;
    };
    const run_options o =
        run(f("--dir", "/d") + " " + f("--port", "0") + " " + f("--listen", "127.0.0.1") + " " +
            f("--peer", "10.0.0.2:50051") + " " + f("--peer", "[fe80::1]:7000") + " " +
            "--no-discovery " + f("--key", "cas1-abc") + " " + f("--state", "/s") + " " +
            f("--log-level", "debug"));
    CHECK(o.dir == "/d");
    CHECK(o.port == 0);
    CHECK(o.listen == "127.0.0.1");
    REQUIRE(o.peers.size() == 2);
    CHECK(o.peers[0].host == "10.0.0.2");
    CHECK(o.peers[0].port == 50051);
    CHECK(o.peers[1].host == "fe80::1");
    CHECK(o.peers[1].port == 7000);
    CHECK_FALSE(o.discovery);
    CHECK(o.key == "cas1-abc");
    CHECK(o.state == "/s");
    CHECK(o.level == log_level::debug);
    const run_options k = run(f("--key-file", "/k/group.key") + " " + f("--dir", "x"));
    CHECK(k.key_file == "/k/group.key");
    CHECK_FALSE(k.key.has_value());
  }
}

TEST_CASE("cli: option order does not matter and values may contain '='") {
  const run_options o = run("--port 7 --key=a=b= --dir=x");
  CHECK(o.dir == "x");
  CHECK(o.port == 7);
  CHECK(o.key == "a=b=");
}

TEST_CASE("cli: ports") {
  for (const auto& [text, port] : std::vector<std::pair<std::string, int>>{
           {"0", 0}, {"1", 1}, {"50051", 50051}, {"65535", 65535}}) {
    CHECK(run("--dir d --port " + text).port == port);
  }
  for (const std::string bad : {"70000", "65536", "-1", "abc", "1x", "+5", "99999999999", "0x50"}) {
    CAPTURE(bad);
    CHECK(error_of("--dir d --port=" + bad) ==
          "--port: '" + bad + "' is not a port number (0-65535)");
  }
}

TEST_CASE("cli: peers") {
  struct row {
    std::string arg, host;
    int port;
  };
  for (const auto& r : std::vector<row>{{"a:1", "a", 1},
                                        {"host.example:65535", "host.example", 65535},
                                        {"198.18.0.3:50051", "198.18.0.3", 50051},
                                        {"[::1]:50051", "::1", 50051},
                                        {"[2001:db8::7]:9", "2001:db8::7", 9}}) {
    CAPTURE(r.arg);
    const run_options o = run("--dir d --peer " + r.arg);
    REQUIRE(o.peers.size() == 1);
    CHECK(o.peers[0].host == r.host);
    CHECK(o.peers[0].port == r.port);
  }
  for (const std::string bad : {"abc", "abc:", ":50051", "a:0", "a:65536", "a:x", "::1:50051",
                                "[::1]", "[::1:50051", "[]:1", "a:1:2"}) {
    CAPTURE(bad);
    CHECK(contains(error_of("--dir d --peer " + bad), "--peer: '" + bad + "' is not HOST:PORT"));
  }
  CHECK(run("--dir d --peer a:1 --peer b:2 --peer c:3").peers.size() == 3);
}

TEST_CASE("cli: log levels") {
  const std::vector<std::pair<std::string, log_level>> levels = {{"trace", log_level::trace},
                                                                 {"debug", log_level::debug},
                                                                 {"info", log_level::info},
                                                                 {"warn", log_level::warn},
                                                                 {"error", log_level::error}};
  for (const auto& [text, level] : levels)
    CHECK(run("--dir d --log-level " + text).level == level);
  for (const std::string bad : {"loud", "INFO", "warning", "0"})
    CHECK(error_of("--dir d --log-level " + bad) ==
          "--log-level: '" + bad + "' is not one of trace|debug|info|warn|error");
}

TEST_CASE("cli: --max-transfers takes 1 to 16; unset, the node sizes it from its cores") {
  CHECK(run("--dir d").max_transfers == 0);
  CHECK(run("--dir d --max-transfers 1").max_transfers == 1);
  CHECK(run("--dir d --max-transfers=16").max_transfers == 16);
  for (const std::string bad : {"0", "17", "-1", "four", "8x"})
    CHECK(error_of("--dir d --max-transfers " + bad) ==
          "--max-transfers: '" + bad + "' is not a number from 1 to 16");
  CHECK(error_of("--dir d --max-transfers 2 --max-transfers 3") ==
        "--max-transfers given more than once");
}

TEST_CASE("cli: usage errors name the flag or value") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "--dir is required (see node --help)"},
      {"--port 1", "--dir is required"},
      {"--foo", "unknown option '--foo'"},
      {"--foo=1 --dir d", "unknown option '--foo'"},
      {"--dir d -x", "unknown option '-x'"},
      {"--dir d stray", "unexpected argument 'stray'"},
      {"--dir", "--dir needs a value"},
      {"--dir=", "--dir needs a value"},
      {"--dir --port 1", "--dir needs a value"},
      {"--dir d --port", "--port needs a value"},
      {"--dir d --listen", "--listen needs a value"},
      {"--dir d --peer", "--peer needs a value"},
      {"--dir d --key", "--key needs a value"},
      {"--dir d --key-file", "--key-file needs a value"},
      {"--dir d --state", "--state needs a value"},
      {"--dir d --log-level", "--log-level needs a value"},
      {"--dir d --key k --key-file f", "--key-file and --key are exclusive"},
      {"--key-file f --dir d --key k", "--key-file and --key are exclusive"},
      {"--dir d --no-discovery=yes", "--no-discovery takes no value"},
      {"--dir a --dir b", "--dir given more than once"},
      {"--dir d --port 1 --port 2", "--port given more than once"},
      {"frobnicate", "unknown command 'frobnicate'"},
      {"keygen extra", "keygen takes no arguments"},
      {"id", "--dir is required"},
      {"id --dir d --port 5", "unknown option '--port'"},
      {"id --dir d extra", "unexpected argument 'extra'"},
      {"id --dir", "--dir needs a value"},
      {"console", "--dir is required"},
      {"console --dir d --color", "unknown option '--color'"},
      {"console --dir d --json=1", "--json takes no value"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.first);
    CHECK(contains(error_of(c.first), c.second));
  }
}

TEST_CASE("cli: --help and -h anywhere") {
  for (const std::string line :
       {"--help", "-h", "--dir d --help", "--dir d -h --port 99999", "keygen --help", "id -h",
        "console --dir d --help", "--bogus -h"}) {
    CAPTURE(line);
    const command c = parse(line);
    REQUIRE(std::holds_alternative<help_command>(c));
    CHECK(std::get<help_command>(c).text == usage_text());
  }
}

TEST_CASE("cli: --version anywhere prints cascade and meson's project version") {
  for (const std::string line : {"--version", "--dir d --version", "--version --port 99999",
                                 "keygen --version", "console --dir d --version"}) {
    CAPTURE(line);
    const command c = parse(line);
    REQUIRE(std::holds_alternative<version_command>(c));
    CHECK(std::get<version_command>(c).text == version_text());
  }
  const std::string v = version_text();
  CHECK(v == "cascade " CASCADE_VERSION "\n");
  // "cascade X.Y.Z": digits and dots, nothing unconfigured left in it
  REQUIRE(v.size() > 9);
  CHECK(v.find_first_not_of("0123456789.", 8) == v.size() - 1);
  CHECK(std::holds_alternative<help_command>(parse("--version --help"))); // --help wins
}

TEST_CASE("cli: help documents every flag and subcommand") {
  const std::string text = usage_text();
  for (const char* part : {"--dir DIR",
                           "--port N",
                           "50051",
                           "--listen ADDR",
                           "--peer HOST:PORT",
                           "repeatable",
                           "--no-discovery",
                           "--key KEY",
                           "--key-file FILE",
                           "--state DIR",
                           "DIR/.cascade",
                           "--log-level",
                           "trace|debug|info|warn|error",
                           "node id --dir DIR",
                           "node keygen",
                           "node console --dir DIR",
                           "--json",
                           "--help",
                           "-h",
                           "--version",
                           "[::1]",
                           "--max-transfers N",
                           "--keep-versions DAYS",
                           "--versions-max-mib N",
                           "versions [GLOB]",
                           "restore PATH [TIME]"}) {
    CAPTURE(part);
    CHECK(contains(text, part));
  }
}

TEST_CASE("cli: --keep-versions takes days (0: off), --versions-max-mib a cap in MiB (0: none)") {
  CHECK(run("--dir d").keep_versions == 30);
  CHECK_FALSE(run("--dir d").versions_max_mib.has_value());
  CHECK(run("--dir d --keep-versions 0").keep_versions == 0);
  CHECK(run("--dir d --keep-versions=7").keep_versions == 7);
  CHECK(run("--dir d --keep-versions 36500").keep_versions == 36500);
  CHECK(run("--dir d --versions-max-mib 0").versions_max_mib == 0u);
  CHECK(run("--dir d --versions-max-mib=512").versions_max_mib == 512u);
  for (const std::string bad : {"-1", "x", "1.5", "36501", "7d", "99999999999"})
    CHECK(error_of("--dir d --keep-versions " + bad) ==
          "--keep-versions: '" + bad +
              "' is not a number of days from 0 to 36500 (0 keeps no versions)");
  for (const std::string bad : {"-1", "ten", "1073741825", "1e3", "5MiB"})
    CHECK(error_of("--dir d --versions-max-mib=" + bad) ==
          "--versions-max-mib: '" + bad +
              "' is not a number of MiB from 0 to 1073741824 (0: no cap)");
  CHECK(error_of("--dir d --keep-versions 1 --keep-versions 2") ==
        "--keep-versions given more than once");
  CHECK(error_of("--dir d --versions-max-mib") == "--versions-max-mib needs a value");
  CHECK(error_of("--dir d --keep-versions --port 1") == "--keep-versions needs a value");
}

TEST_CASE("cli: --mode takes one of three names; unset leaves the stored mode") {
  CHECK_FALSE(run("--dir d").mode.has_value());
  CHECK(run("--dir d --mode send-only").mode == "send-only");
  CHECK(run("--dir d --mode=receive-only").mode == "receive-only");
  CHECK(run("--dir d --mode send-receive").mode == "send-receive");
  for (const std::string bad : {"sendonly", "Send-Only", "both"})
    CHECK(error_of("--dir d --mode=" + bad) ==
          "--mode: '" + bad + "' is not one of send-receive|send-only|receive-only");
  CHECK(error_of("--dir d --mode send-only --mode receive-only") == "--mode given more than once");
  CHECK(error_of("--dir d --mode") == "--mode needs a value");
  CHECK(contains(usage_text(), "--mode send-receive|send-only|receive-only"));
}

TEST_CASE("cli: keygen") {
  CHECK(std::holds_alternative<keygen_command>(parse("keygen")));
}

TEST_CASE("cli: id") {
  for (const std::string line : {"id --dir /d", "id --dir=/d"}) {
    const command c = parse(line);
    REQUIRE(std::holds_alternative<id_command>(c));
    CHECK(std::get<id_command>(c).dir == "/d");
    CHECK_FALSE(std::get<id_command>(c).state.has_value());
  }
  const command c = parse("id --state /s --dir /d");
  REQUIRE(std::holds_alternative<id_command>(c));
  CHECK(std::get<id_command>(c).dir == "/d");
  CHECK(std::get<id_command>(c).state == "/s");
}

TEST_CASE("cli: console") {
  struct row {
    std::string line;
    bool json;
    std::vector<std::string> words;
  };
  const std::vector<row> rows = {
      {"console --dir d", false, {}},
      {"console --dir=d --json", true, {}},
      {"console --json --dir d status", true, {"status"}},
      {"console --dir d files *.txt", false, {"files", "*.txt"}},
      {"console --dir d files --ignored *.tmp", false, {"files", "--ignored", "*.tmp"}},
      {"console --dir d log debug --json", true, {"log", "debug"}},
      {"console --dir d log -v", false, {"log", "-v"}},
      {"console --dir d -- --weird word", false, {"--weird", "word"}},
  };
  for (const auto& r : rows) {
    CAPTURE(r.line);
    const command c = parse(r.line);
    REQUIRE(std::holds_alternative<console_command>(c));
    const auto& cc = std::get<console_command>(c);
    CHECK(cc.dir == "d");
    CHECK(cc.json == r.json);
    CHECK(cc.words == r.words);
    CHECK_FALSE(cc.state);
  }
  const command s = parse("console --dir d --state /s peers");
  REQUIRE(std::holds_alternative<console_command>(s));
  CHECK(std::get<console_command>(s).state == std::optional<std::string>("/s"));
  CHECK(std::get<console_command>(s).words == std::vector<std::string>{"peers"});
  CHECK(std::holds_alternative<usage_error>(parse("console --dir d --state a --state b")));
}
