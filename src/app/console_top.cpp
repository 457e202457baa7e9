// `node console top`: status, peers and transfers redrawn every second until q, Ctrl+C or a
// signal; with --json, one object per second instead.
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "app/console_client.hpp"

namespace cascade::app::console_client {

namespace {

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

} // namespace

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

} // namespace cascade::app::console_client
