// Flow control of the chunk streams between two peers over an in-memory pipe: a receiver that
// stops reading holds the sender to its sink credit plus the stream window (bounded memory),
// and the stream goes on when it reads again. In flight: bytes the sender wrote to the pipe
// (TLS records included) that the receiver has not been handed yet. Held: pooled frame blocks
// alive anywhere in the process (read by the sender, queued, received), i.e. memory.
#include <doctest/doctest.h>

#include <algorithm>

#include "io/buffer_pool.hpp"
#include "pipe_peers.hpp"

using namespace peers;

namespace {

constexpr std::size_t mib = 1024 * 1024;
constexpr std::size_t frames = 16;
// The stream window, plus the one message capnp lets go beyond it, plus headers and TLS.
constexpr std::uint64_t max_in_flight = rpc::stream_window_bytes + rpc::max_frame_bytes + 64 * 1024;

// Frame blocks: those the receiver holds, the window's, and the one being read or written.
constexpr std::size_t max_held(std::size_t credit) {
  return credit + 1 + rpc::stream_window_bytes / rpc::max_frame_bytes + 2;
}

struct flow {
  pipe_peers& p;
  collector& into;
  rpc::byte_counters& sender; // a's bytes on the wire
  std::uint64_t worst = 0;    // the most seen in flight
  std::size_t most_held = 0;  // the most frame blocks seen alive
  std::size_t consumed = 0;
  std::size_t held_before = io::frame_pool().statistics().live;
  std::string got; // what the receiver consumed, at its offsets

  flow(pipe_peers& pp, collector& c, rpc::byte_counters& s, std::size_t size)
      : p(pp), into(c), sender(s), got(size, '\0') {}

  void in_flight() {
    worst = std::max(worst, sender.out > into.total ? sender.out - into.total : 0);
    auto live = io::frame_pool().statistics().live;
    most_held = std::max(most_held, live > held_before ? live - held_before : 0);
  }
  // Runs until the receiver stalls the sender: credit + 1 frames handed over, none consumed.
  void stall(std::size_t credit) {
    REQUIRE(p.pump_until([&] {
      in_flight();
      return into.frames >= credit + 1;
    }));
    p.pump_for(std::chrono::milliseconds(100)); // nothing more may arrive
    in_flight();
    CHECK(into.frames == credit + 1);
    CHECK(into.bytes() == (credit + 1) * mib);
    CHECK(sender.out < (credit + 1) * mib + max_in_flight); // of 16 MiB
  }
  // The receiver reads again, each frame as it comes, until the stream ends.
  void drain(rpc::fetch_id f) {
    REQUIRE(p.pump_until([&] {
      in_flight();
      if (into.frames > consumed) {
        p.b.net->consumed(f, into.frames - consumed);
        consumed = into.frames;
        into.move_into(got); // written to disk, say: the receiver lets the frames go
      }
      return into.done.has_value();
    }));
  }
};

rpc::byte_counters& counters_of(peer& x) {
  REQUIRE(x.kj().conns.size() == 1);
  return *x.kj().conns.begin()->second->counters;
}

options with_credit(std::size_t credit) {
  options o;
  o.sink_credit = credit;
  return o;
}

// Two peers whose receiving sinks hold `credit` frames, and 16 MiB to send.
struct credit_case {
  options o;
  pipe_peers p;
  std::string content;
  credit_case(std::size_t credit, std::uint32_t seed)
      : o(with_credit(credit)), p(o), content(pattern(frames * mib, seed)) {
    REQUIRE(p.up());
  }
};

} // namespace

TEST_CASE("credit: a fetch stalls while the receiver does not read, and resumes when it does") {
  credit_case c(2, 11);
  auto& [o, p, content] = c;
  p.a.write_file("big.bin", content);
  auto into = std::make_shared<collector>();
  auto f = p.b.net->fetch(p.b.session, "big.bin", {{0, content.size()}}, into);
  flow fl(p, *into, counters_of(p.a), content.size());
  fl.stall(o.sink_credit);
  CHECK(fl.most_held <= max_held(o.sink_credit)); // the sender read no further ahead
  CHECK_FALSE(into->done.has_value());
  fl.drain(f);
  CAPTURE(fl.worst);
  CAPTURE(fl.most_held);
  CHECK(*into->done == "");
  CHECK(into->frames == frames);
  CHECK(fl.got == content);
  CHECK(fl.worst <= max_in_flight);
  CHECK(fl.most_held <= max_held(o.sink_credit));
}

TEST_CASE("credit: a push stalls while the receiver does not read; the pusher sees it") {
  credit_case c(3, 12);
  auto& [o, p, content] = c;
  auto obs = std::make_shared<push_recorder>();
  auto push =
      p.a.net->offer(p.a.session, file_entry("pushed.bin", content, 512 * 1024), {}, {}, obs);
  REQUIRE(p.pump_until([&] { return p.b.events.offers.size() == 1; }));
  auto into = std::make_shared<collector>();
  auto f = p.b.net->accept_offer(p.b.session, p.b.events.offers.front().call, into);
  REQUIRE(p.pump_until([&] { return obs->answer.has_value(); }));
  REQUIRE(*obs->answer);
  // The pusher hands every frame over at once; the stream's flow control holds them back.
  for (std::size_t i = 0; i < frames; ++i)
    p.a.net->push(push, {piece_of(i * mib, content.substr(i * mib, mib))});
  p.a.net->finish_push(push, "");
  flow fl(p, *into, counters_of(p.a), content.size());
  fl.stall(o.sink_credit);
  // on_sent counts frames the window took: the handed-over ones and what fits in the window.
  CAPTURE(obs->sent);
  CHECK(obs->sent <= o.sink_credit + 1 + rpc::stream_window_bytes / mib + 1);
  CHECK(obs->sent < frames);
  fl.drain(f);
  CHECK(*into->done == "");
  CHECK(obs->sent == frames);
  CHECK_FALSE(obs->failed.has_value());
  CHECK(fl.got == content);
  CHECK(fl.worst <= max_in_flight);
}
