// A hostile peer for cascade's security tests: built from the node's own schema and TLS code,
// it connects to a node and runs one attack per invocation:
//
//   hostile_peer MODE --port P --key K [--host H] [--src IP] [--dir D] [--count N]
//                     [--marker M] [--path NAME] [--wait S] [--deadline S]
//
// Modes: bad-names (hostile names and links in one update, plus one good file), flood (20000
// records in one update), oversized (lying inline data, 2 MiB chunk, 60 MiB inline file, 70 MiB
// message), big-pieces (a file served in 48 MiB frames), bad-chunks (wrong, out-of-order and
// extra bytes when fetched, then the right ones), bad-offer (push cascade: bad offers, wrong
// pushed bytes), stall-handshake (silent TCP; TLS and no hello), conn-flood (--count TLS
// connections without hello), wrong-key (bad group proof, foreign device id, protocol 99),
// no-tls (plain HTTP), bad-fetch (paths out of the folder, too many ranges, 17 stalled
// fetches), have-liar (claims to hold every version whole for --count s, serves wrong bytes),
// max-counter (a deletion of --path at counter 2^64-1), bad-delta (chunk deltas that lie),
// hello (a correct hello), early-calls (a member calls the node's Peer before its ready, sends
// ready twice or first), serve (we listen on --host:--port and the node dials us; --variant
// no-key|wrong-key|replay|member|denied, see attacks_server.cpp).
//
// --identity FILE keeps our Ed25519 key in FILE (made if missing), so a test can deny it.
//
// It prints what happened, one line each ("hostile: ..."; verdict lines start with "RESULT "),
// and exits 0 when the attack ran as planned: the exit code is no judgement of the node, the
// test reads the node's folder, log and memory for that. Exit 1: the attack could not run
// (e.g. the hello failed where it had to succeed); exit 2: bad usage. Every wait is bounded,
// and an alarm ends the program after --deadline seconds (default 90) whatever happens.
//
// --src binds the connection to another loopback address (127.0.0.K): the node slows down
// addresses that fail handshakes, so each attack may come from an address of its own.
//
// The parts: see hostile_peer.hpp. This file: the command line and the table of modes.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "hostile_peer.hpp"

namespace hostile {

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "hostile_peer: %s\nusage: hostile_peer MODE --port P --key K [--host H] [--src IP] "
               "[--dir D] [--count N] [--marker M] [--path NAME] [--wait S] [--deadline S] "
               "[--variant V] [--identity FILE]\nmodes: "
               "bad-names "
               "flood oversized big-pieces bad-chunks stall-handshake conn-flood wrong-key no-tls "
               "bad-fetch bad-offer have-liar max-counter bad-delta hello early-calls serve\n",
               why.c_str());
  std::exit(2);
}

} // namespace hostile

using namespace hostile;

namespace {
std::string load_or_make_key(const std::string& file) {
  if (file.empty())
    return rpc::generate_private_key();
  if (std::ifstream in(file); in) {
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  auto pem = rpc::generate_private_key();
  std::ofstream(file) << pem;
  return pem;
}
} // namespace

int main(int argc, char** argv) {
  options o;
  if (argc < 2)
    usage("no mode");
  o.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc)
        usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--port")
      o.port = static_cast<std::uint16_t>(std::stoi(val()));
    else if (a == "--key")
      o.key = val();
    else if (a == "--host")
      o.host = val();
    else if (a == "--src")
      o.src = val();
    else if (a == "--dir")
      o.dir = val();
    else if (a == "--count")
      o.count = std::stoi(val());
    else if (a == "--marker")
      o.marker = val();
    else if (a == "--path")
      o.path = val();
    else if (a == "--wait")
      o.wait = std::stod(val());
    else if (a == "--variant")
      o.variant = val();
    else if (a == "--identity")
      o.identity = val();
    else if (a == "--deadline")
      o.deadline = std::stoi(val());
    else
      usage("unknown argument " + a);
  }
  if (o.port == 0)
    usage("--port is required");
  ::alarm(static_cast<unsigned>(o.deadline));
  ::signal(SIGPIPE, SIG_IGN); // a node that closes on us is an outcome, not a crash
  std::map<std::string, int (*)(ctx&)> modes = {
      {"bad-names", attack_bad_names},
      {"flood", attack_flood},
      {"oversized", attack_oversized},
      {"big-pieces", attack_big_pieces},
      {"bad-chunks", attack_bad_chunks},
      {"have-liar", attack_have_liar},
      {"stall-handshake", attack_stall},
      {"conn-flood", attack_conn_flood},
      {"wrong-key", attack_wrong_key},
      {"no-tls", attack_no_tls},
      {"bad-fetch", attack_bad_fetch},
      {"hello", attack_hello},
      {"max-counter", attack_max_counter},
      {"bad-delta", attack_bad_delta},
      {"bad-offer", attack_bad_offer},
      {"serve", attack_serve},             {"early-calls", attack_early_calls},
  };
  auto it = modes.find(o.mode);
  if (it == modes.end())
    usage("unknown mode " + o.mode);
  bool needs_key = o.mode != "stall-handshake" && o.mode != "conn-flood" && o.mode != "no-tls" &&
                   o.mode != "wrong-key" &&
                   !(o.mode == "serve" && (o.variant == "no-key" || o.variant == "replay"));
  if (needs_key && o.key.empty())
    usage(o.mode + " needs --key");
  try {
    auto io = kj::setupAsyncIo();
    rpc::tls_context tls(load_or_make_key(o.identity));
    say("device " + core::format_device_id(tls.self()) + ", mode " + o.mode);
    ctx c{io, o, tls};
    return it->second(c);
  } catch (kj::Exception& e) {
    say(std::string("attack could not run: ") + e.getDescription().cStr());
    return 1;
  } catch (std::exception& e) {
    say(std::string("attack could not run: ") + e.what());
    return 1;
  }
}
