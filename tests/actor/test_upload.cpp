// The upload actor (the source of a push cascade) against the fake network and a real file in
// a temp directory: it offers the file along the plan, streams it in order without passing its
// window, moves on when a peer declines, and stops rather than push a file that changed since it
// was hashed. Real threads (the upload is detached): suite "caf_threads" (see test_index.cpp).
#include <doctest/doctest.h>

#include <caf/all.hpp>

#include <sys/stat.h>
#include <sys/time.h>

#include <chrono>
#include <fstream>
#include <string>

#include "actors/relay.hpp"
#include "io/folder.hpp"
#include "node_fixture.hpp"

using namespace cascade;
using namespace cascade::test;
using namespace std::chrono_literals;

namespace {

struct upload_fixture : node_fixture {
  actors::upload_actor upload;
  std::vector<std::uint8_t> data = random_bytes(20 * frame + 4321, 7);
  core::file_record record;

  upload_fixture() {
    std::ofstream(root + "/big.bin", std::ios::binary)
        .write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    record = record_of(data);
    struct stat st {};
    REQUIRE(::stat((root + "/big.bin").c_str(), &st) == 0);
    record.mtime_ns = io::to_local_stat(st).mtime_ns; // the file as the index hashed it
  }

  ~upload_fixture() {
    if (upload)
      caf::anon_send_exit(upload, caf::exit_reason::user_shutdown);
    upload = nullptr;
  }

  void start(std::vector<core::device_id> rest,
             std::vector<std::pair<core::device_id, rpc::session_id>> peers) {
    actors::relay_plan plan;
    plan.rest = std::move(rest);
    plan.visited = {self};
    plan.peers = std::move(peers);
    upload = actors::spawn_upload(*sys, ctx, record, std::move(plan));
  }

  std::size_t pushed(rpc::transport::push_id id) {
    return net.with([&](auto& n) { return n.pushed[id].size(); });
  }

  // Acknowledges every frame pushed so far (and those that follow) until the push is finished;
  // the most frames ever in flight at once.
  std::size_t take_all(const fake_transport::offer_call& offer) {
    std::size_t acked = 0, most = 0;
    while (net.wait([&](auto& n) { return n.pushed[offer.id].size() > acked ||
                                          n.finished_pushes.count(offer.id); }, 5s)) {
      auto now = pushed(offer.id);
      most = std::max(most, now - acked);
      if (now > acked)
        offer.observer->on_sent(now - acked);
      acked = now;
      if (net.with([&](auto& n) { return n.finished_pushes.count(offer.id) > 0; }))
        break;
    }
    return most;
  }

  // Every pushed byte, in order and once each, is the file.
  bool pushed_the_file(rpc::transport::push_id id) {
    std::vector<std::uint8_t> got;
    bool in_order = net.with([&](auto& n) {
      for (auto& p : n.pushed[id]) {
        if (p.offset != got.size())
          return false;
        got.insert(got.end(), p.data.data(), p.data.data() + p.data.size());
      }
      return true;
    });
    return in_order && got == data;
  }
};

} // namespace

TEST_SUITE("caf_threads") {

TEST_CASE("upload: offers the file along the plan and streams it in order within its window") {
  upload_fixture f;
  f.start({f.down}, {{f.down, 3}});
  REQUIRE(f.net.wait([](auto& n) { return n.offers.size() == 1; }));
  auto offer = f.net.with([](auto& n) { return n.offers[0]; });
  CHECK(offer.session == 3);
  CHECK(offer.path == "big.bin");
  CHECK(f.pushed(offer.id) == 0); // nothing before the peer took the offer
  offer.observer->on_answer(true);
  // The peer takes nothing yet: the upload stops at its window.
  REQUIRE(f.net.wait([&](auto& n) { return n.pushed[offer.id].size() > 0; }));
  std::this_thread::sleep_for(100ms); // room to overrun the window, were it not kept
  CHECK(f.pushed(offer.id) <= actors::downstream::window);
  CHECK(f.pushed(offer.id) < 21); // the file is 21 frames: it did not all go out
  auto most = f.take_all(offer);
  CHECK(most <= actors::downstream::window);
  REQUIRE(f.net.wait([&](auto& n) { return n.finished_pushes.count(offer.id) == 1; }));
  CHECK(f.net.with([&](auto& n) { return n.finished_pushes[offer.id]; }) == "");
  CHECK(f.pushed_the_file(offer.id));
}

TEST_CASE("upload: a peer that declines is passed over for the next one of the plan") {
  upload_fixture f;
  f.start({f.other, f.down}, {{f.other, 2}, {f.down, 3}});
  REQUIRE(f.net.wait([](auto& n) { return n.offers.size() == 1; }));
  auto first = f.net.with([](auto& n) { return n.offers[0]; });
  CHECK(first.session == 2);
  first.observer->on_answer(false);
  REQUIRE(f.net.wait([](auto& n) { return n.offers.size() == 2; }));
  auto second = f.net.with([](auto& n) { return n.offers[1]; });
  CHECK(second.session == 3);
  second.observer->on_answer(true);
  f.take_all(second);
  CHECK(f.pushed(first.id) == 0);
  CHECK(f.pushed_the_file(second.id));
}

TEST_CASE("upload: a file changed since it was hashed is not pushed as that version") {
  upload_fixture f;
  // The file gets another mtime after the index hashed it (as an edit would give it).
  timeval later[2] = {{1'800'000'000, 0}, {1'800'000'000, 0}};
  REQUIRE(::utimes((f.root + "/big.bin").c_str(), later) == 0);
  f.start({f.down}, {{f.down, 3}});
  REQUIRE(f.net.wait([](auto& n) { return n.offers.size() == 1; }));
  auto offer = f.net.with([](auto& n) { return n.offers[0]; });
  offer.observer->on_answer(true);
  f.take_all(offer);
  REQUIRE(f.net.wait([&](auto& n) { return n.finished_pushes.count(offer.id) == 1; }));
  CHECK(f.net.with([&](auto& n) { return n.finished_pushes[offer.id]; })
            .find("changed while it was pushed") != std::string::npos);
  CHECK(f.pushed(offer.id) == 0); // not one frame of the changed file went out
}

} // TEST_SUITE
