// The peer actor's sending side under CAF's test coordinator, over the fake network and an
// actor standing in for the index: two index batches in flight, each continuing the one before;
// a batch the peer answers need_full goes again whole, and the batch pipelined behind it counts
// for nothing; after a refusal the next change starts again from what the peer recorded; a peer
// that answers needFull to a batch without deltas loses its session.
#include <doctest/doctest.h>

#include <caf/all.hpp>

#include <memory>
#include <utility>
#include <vector>

#include "actors/actors.hpp"
#include "node_fixture.hpp"

using namespace cascade;
using namespace cascade::test;

namespace {

// Our index as the peer actor sees it: records up to sequence `top`, ten per batch.
struct index_script {
  std::uint64_t top = 100;
  bool big_files = true; // each record's chunk list goes as a delta when the read allows it
  std::vector<std::pair<std::uint64_t, bool>> reads; // (from, deltas) of every get
};

struct peer_fixture : node_fixture {
  std::shared_ptr<index_script> script = std::make_shared<index_script>();
  caf::actor stand_in;
  actors::peer_actor peer;

  peer_fixture() {
    stand_in = sys->spawn([s = script]() -> caf::behavior {
      return {
          [s](actors::get_atom, std::uint64_t from, const core::device_id&, bool deltas) {
            s->reads.emplace_back(from, deltas);
            std::vector<rpc::wire_entry> out;
            auto last = std::min(from + 10, s->top);
            if (last > from) {
              out.emplace_back();
              out.back().record.path = "f" + std::to_string(last);
              if (deltas && s->big_files)
                out.back().delta = core::chunk_delta{};
            }
            return caf::make_message(std::move(out), last);
          },
          [](actors::progress_atom, const core::device_id&) {
            return caf::make_message(std::uint64_t{0}, std::uint64_t{0});
          },
      };
    });
    rpc::session_info info;
    info.id = 7;
    info.device = other;
    info.epoch = 3;
    peer = actors::spawn_peer(*sys, ctx, info, caf::actor_cast<actors::index_actor>(stand_in));
    settle();
  }

  ~peer_fixture() {
    caf::anon_send_exit(peer, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(stand_in, caf::exit_reason::user_shutdown);
    settle();
  }

  void subscribe(std::uint64_t from) {
    caf::anon_send(peer, actors::subscribe_atom::value, std::uint64_t{3}, from);
    settle();
  }
  // The peer's answer to the k-th batch sent.
  void answer(std::size_t k, bool ok, bool need_full = false) {
    REQUIRE(k < net.updates.size());
    net.updates[k].done(ok, need_full);
    settle();
  }
  std::pair<std::uint64_t, std::uint64_t> range(std::size_t k) {
    REQUIRE(k < net.updates.size());
    return {net.updates[k].from, net.updates[k].last};
  }
  std::uint64_t sent_up_to() { return status_of(peer).counter("sent_up_to"); }
};

using range = std::pair<std::uint64_t, std::uint64_t>;

} // namespace

TEST_CASE("peer: two index batches in flight, each continuing the one before") {
  peer_fixture f;
  f.subscribe(0);
  REQUIRE(f.net.updates.size() == 2); // the third waits for an answer
  CHECK(f.range(0) == range{0, 10});
  CHECK(f.range(1) == range{10, 20});
  CHECK(f.net.updates[0].entries.size() == 1);
  CHECK(f.script->reads.size() == 2);
  CHECK(f.sent_up_to() == 0);
  f.answer(0, true);
  REQUIRE(f.net.updates.size() == 3);
  CHECK(f.range(2) == range{20, 30});
  CHECK(f.sent_up_to() == 10);
  // Every answer lets one more go, to the end of the index.
  for (std::size_t k = 1; k < 10; ++k)
    f.answer(k, true);
  CHECK(f.net.updates.size() == 10);
  CHECK(f.range(9) == range{90, 100});
  CHECK(f.sent_up_to() == 100);
  // Nothing new: a change reads once more and sends nothing.
  auto reads = f.script->reads.size();
  caf::anon_send(f.peer, actors::changed_atom::value);
  f.settle();
  CHECK(f.script->reads.size() == reads + 1);
  CHECK(f.net.updates.size() == 10);
}

TEST_CASE("peer: a batch answered need_full goes again whole; the one behind it counts not") {
  peer_fixture f;
  f.subscribe(40);
  REQUIRE(f.net.updates.size() == 2);
  CHECK(f.range(0) == range{40, 50});
  CHECK(f.range(1) == range{50, 60});
  f.answer(0, true, true); // a delta's base was missing
  REQUIRE(f.net.updates.size() == 3);
  CHECK(f.range(2) == range{40, 50});
  CHECK(f.script->reads.back() == std::make_pair(std::uint64_t{40}, false)); // whole
  // The receiver refuses the batch pipelined behind; even an acknowledgement of it would be
  // of the old round and move nothing.
  f.answer(1, true);
  CHECK(f.sent_up_to() == 40);
  REQUIRE(f.net.updates.size() == 4);
  CHECK(f.range(3) == range{50, 60});
  CHECK(f.script->reads.back().second); // deltas again after the whole batch
  f.answer(2, true);
  CHECK(f.sent_up_to() == 50);
  f.answer(3, true);
  CHECK(f.sent_up_to() == 60);
  CHECK(f.status_of(f.peer).counter("full_resends") == 1);
}

TEST_CASE("peer: after a refusal, the next change starts again from what the peer recorded") {
  peer_fixture f;
  f.subscribe(0);
  f.answer(0, true);
  REQUIRE(f.net.updates.size() == 3);
  f.answer(1, false); // a store fault or its user's pause
  f.answer(2, false); // refused behind it
  CHECK(f.net.updates.size() == 3); // no retry of its own
  CHECK(f.sent_up_to() == 10);
  caf::anon_send(f.peer, actors::changed_atom::value);
  f.settle();
  REQUIRE(f.net.updates.size() == 5);
  CHECK(f.range(3) == range{10, 20});
  CHECK(f.range(4) == range{20, 30});
  // The peer subscribes again (it took records again): from its own progress.
  f.subscribe(20);
  f.answer(3, true); // of the old round: moves nothing
  f.answer(4, true);
  REQUIRE(f.net.updates.size() == 7);
  CHECK(f.range(5) == range{20, 30});
  CHECK(f.range(6) == range{30, 40});
  CHECK(f.status_of(f.peer).counter("refused") == 1);
}

TEST_CASE("peer: needFull for a batch without deltas closes the session; nothing is resent") {
  peer_fixture f;
  f.script->big_files = false; // small files: no chunk list goes as a delta
  f.subscribe(0);
  REQUIRE(f.net.updates.size() == 2);
  f.answer(0, true, true);
  REQUIRE(f.net.closed.size() == 1);
  CHECK(f.net.closed[0].first == 7);
  CHECK(f.net.closed[0].second.find("needFull") != std::string::npos);
  f.answer(1, true);
  caf::anon_send(f.peer, actors::changed_atom::value);
  f.settle();
  CHECK(f.net.updates.size() == 2); // no resend, and nothing more
}
