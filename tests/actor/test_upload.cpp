// The upload actor (the source of a push cascade) under CAF's test coordinator, over the
// in-memory folder (io::memory_space) and the fake network: it offers the file along the plan,
// streams it in order without passing its window, moves on when a peer declines, stops rather
// than push a file that changed since it was hashed (before or during the push).
#include <doctest/doctest.h>

#include <caf/all.hpp>

#include <chrono>
#include <string>

#include "actors/relay.hpp"
#include "node_fixture.hpp"

using namespace cascade;
using namespace cascade::test;
using namespace std::chrono_literals;

namespace {

struct upload_fixture : node_fixture {
  actors::upload_actor upload;
  std::vector<std::uint8_t> data = random_bytes(20 * frame + 4321, 7);
  core::file_record record = record_of(data);

  upload_fixture() { files.put("big.bin", data, record.mtime_ns); } // as the index hashed it

  ~upload_fixture() {
    if (upload)
      caf::anon_send_exit(upload, caf::exit_reason::user_shutdown);
    upload = nullptr;
    settle();
  }

  void start(std::vector<core::device_id> rest,
             std::vector<std::pair<core::device_id, rpc::session_id>> peers) {
    actors::relay_plan plan;
    plan.rest = std::move(rest);
    plan.visited = {self};
    plan.peers = std::move(peers);
    upload = actors::spawn_upload(*sys, ctx, record, std::move(plan));
    settle();
  }

  std::size_t pushed(rpc::transport::push_id id) { return net.pushed[id].size(); }
  bool finished(rpc::transport::push_id id) { return net.finished_pushes.count(id) > 0; }

  // Acknowledges the frames pushed so far, over and over, until the push is finished; the
  // most frames ever in flight at once.
  std::size_t take_all(const fake_transport::offer_call& offer) {
    std::size_t acked = 0, most = 0;
    for (int i = 0; i < 1000 && !finished(offer.id); ++i) {
      auto now = pushed(offer.id);
      most = std::max(most, now - acked);
      if (now == acked)
        break; // the upload stopped pushing without finishing
      offer.observer->on_sent(now - acked);
      acked = now;
      settle();
    }
    return most;
  }

  // Every pushed byte, in order and once each, is the file.
  bool pushed_the_file(rpc::transport::push_id id) {
    std::vector<std::uint8_t> got;
    for (auto& p : net.pushed[id]) {
      if (p.offset != got.size())
        return false;
      got.insert(got.end(), p.data.data(), p.data.data() + p.data.size());
    }
    return got == data;
  }
};

} // namespace

TEST_CASE("upload: offers the file along the plan and streams it in order within its window") {
  upload_fixture f;
  f.start({f.down}, {{f.down, 3}});
  REQUIRE(f.net.offers.size() == 1);
  auto offer = f.net.offers[0];
  CHECK(offer.session == 3);
  CHECK(offer.path == "big.bin");
  CHECK(f.pushed(offer.id) == 0); // nothing before the peer took the offer
  offer.observer->on_answer(true);
  f.settle();
  // The peer takes nothing yet: the upload stops at its window (4 MiB in flight).
  std::uint64_t out = 0, last = 0;
  for (auto& p : f.net.pushed[offer.id]) {
    out += p.data.size();
    last = p.data.size();
  }
  CHECK(out >= actors::downstream::source_lag_bytes);
  CHECK(out - last < actors::downstream::source_lag_bytes);
  CHECK(!f.finished(offer.id));
  auto most = f.take_all(offer);
  CHECK(most <= actors::downstream::window);
  REQUIRE(f.finished(offer.id));
  CHECK(f.net.finished_pushes[offer.id] == "");
  CHECK(f.pushed_the_file(offer.id));
}

TEST_CASE("upload: a peer that declines is passed over for the next one of the plan") {
  upload_fixture f;
  f.start({f.other, f.down}, {{f.other, 2}, {f.down, 3}});
  REQUIRE(f.net.offers.size() == 1);
  auto first = f.net.offers[0];
  CHECK(first.session == 2);
  first.observer->on_answer(false);
  f.settle();
  REQUIRE(f.net.offers.size() == 2);
  auto second = f.net.offers[1];
  CHECK(second.session == 3);
  second.observer->on_answer(true);
  f.settle();
  f.take_all(second);
  CHECK(f.pushed(first.id) == 0);
  CHECK(f.pushed_the_file(second.id));
}

TEST_CASE("upload: a file changed since it was hashed is not pushed as that version") {
  upload_fixture f;
  // Rewritten after the index hashed it, with another mtime (as an edit would give it).
  f.files.put("big.bin", f.data, f.record.mtime_ns + 1'000'000'000);
  f.start({f.down}, {{f.down, 3}});
  REQUIRE(f.net.offers.size() == 1);
  auto offer = f.net.offers[0];
  offer.observer->on_answer(true);
  f.settle();
  REQUIRE(f.finished(offer.id));
  CHECK(f.net.finished_pushes[offer.id].find("changed while it was pushed") != std::string::npos);
  CHECK(f.pushed(offer.id) == 0); // not one frame of the changed file went out
}

TEST_CASE("upload: a file edited in place during the push ends it before the changed frames") {
  upload_fixture f;
  f.start({f.down}, {{f.down, 3}});
  auto offer = f.net.offers.at(0);
  offer.observer->on_answer(true);
  f.settle();
  auto before = f.pushed(offer.id);
  REQUIRE(before > 0);
  f.files.scribble("big.bin", 10 * frame, f.record.mtime_ns + 1); // same inode, new mtime
  f.take_all(offer);
  REQUIRE(f.finished(offer.id));
  CHECK(f.net.finished_pushes[offer.id].find("changed while it was pushed") != std::string::npos);
  CHECK(f.pushed(offer.id) == before); // what went out before the edit, nothing after it
}
