// Deterministic tests of the watcher actor under CAF's testing scheduler: time only moves
// when the test advances it, and every message is delivered by hand.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <caf/all.hpp>

#include <memory>

#include "actors/actors.hpp"

using namespace cascade;
using namespace std::chrono_literals;

namespace {

using scans = std::vector<std::vector<std::string>>;

// Stands in for the index: records every scan request it gets (the watcher's view of the index,
// actors::scan_sink_actor).
actors::scan_sink_actor::behavior_type recorder(actors::scan_sink_actor::pointer,
                                                std::shared_ptr<scans> seen) {
  return {
      [seen](actors::scan_atom, const std::vector<std::string>& paths,
          const std::vector<std::int64_t>& seen_at) {
        CHECK(seen_at.size() == paths.size());
        for (auto t : seen_at)
          CHECK(t > 0); // the wall-clock time of the first event, for propagation latency
        seen->push_back(paths);
      },
      [seen](actors::rescan_atom) { seen->push_back({"<rescan>"}); },
      [seen](actors::unwatched_atom, const std::vector<std::string>& roots) {
        seen->push_back({"<unwatched>"});
        seen->back().insert(seen->back().end(), roots.begin(), roots.end());
      },
  };
}

struct fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  std::shared_ptr<scans> seen = std::make_shared<scans>();
  actors::scan_sink_actor index;
  actors::watcher_actor watcher;

  fixture() {
    cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    index = sys->spawn(recorder, seen);
    watcher = actors::spawn_watcher(*sys, index);
    sched->run();
  }

  ~fixture() {
    caf::anon_send_exit(watcher, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(index, caf::exit_reason::user_shutdown);
    sched->run();
  }

  void events(std::vector<io::watch_event> ev) {
    caf::anon_send(watcher, actors::fs_events_atom::value, std::move(ev));
    sched->run();
  }

  void advance(caf::timespan t) {
    sched->advance_time(t);
    sched->run();
  }
};

} // namespace

TEST_CASE_FIXTURE(fixture, "a closed write is scanned after the settle time, not before") {
  events({{"a.txt", core::fs_event::closed_write}});
  CHECK(seen->empty());
  advance(1ms);
  CHECK(seen->empty());
  advance(2ms);
  REQUIRE(seen->size() == 1);
  CHECK((*seen)[0] == std::vector<std::string>{"a.txt"});
  advance(10s);
  CHECK(seen->size() == 1); // nothing else arrives
}

TEST_CASE_FIXTURE(fixture, "a file still held open waits for two quiet seconds") {
  events({{"big.bin", core::fs_event::modified}});
  advance(1s);
  events({{"big.bin", core::fs_event::modified}});
  advance(1900ms);
  CHECK(seen->empty());
  advance(200ms);
  REQUIRE(seen->size() == 1);
  CHECK((*seen)[0] == std::vector<std::string>{"big.bin"});
}

TEST_CASE_FIXTURE(fixture, "a burst of events on many paths becomes one scan") {
  std::vector<io::watch_event> ev;
  for (int i = 0; i < 100; ++i)
    ev.push_back({"d/" + std::to_string(i), core::fs_event::created});
  events(ev);
  advance(5ms);
  REQUIRE(seen->size() == 1);
  CHECK((*seen)[0].size() == 100);
}

TEST_CASE_FIXTURE(fixture, "an overflow asks the index for a full rescan") {
  caf::anon_send(watcher, actors::overflow_atom::value);
  sched->run();
  REQUIRE(seen->size() == 1);
  CHECK((*seen)[0] == std::vector<std::string>{"<rescan>"});
}

TEST_CASE_FIXTURE(fixture, "trees without a watch go on to the index, to be walked") {
  caf::anon_send(watcher, actors::unwatched_atom::value, std::vector<std::string>{"a/b", "c"});
  sched->run();
  REQUIRE(seen->size() == 1);
  CHECK((*seen)[0] == std::vector<std::string>{"<unwatched>", "a/b", "c"});
}
