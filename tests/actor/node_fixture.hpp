// What the actor tests of transfers and uploads share: a node's context over an in-memory
// folder and tmp (io::memory_space) and the fake network, an actor system on CAF's test
// coordinator (time moves only when a test advances it, and messages are delivered when it
// runs the scheduler), and an actor standing in for the index that keeps what it is sent.
#pragma once

#include <doctest/doctest.h>

#include <caf/all.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/actors.hpp"
#include "core/partials.hpp"
#include "fake_transport.hpp"
#include "file_helpers.hpp"
#include "io/memory_space.hpp"

namespace cascade::test {

// Declared in destruction order: the actor system goes first.
struct node_fixture {
  io::memory_space files;
  core::partial_files partials;
  fake_transport net;
  actors::node_context ctx;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  // What the transfers sent their index.
  std::shared_ptr<std::vector<actors::transfer_result>> results =
      std::make_shared<std::vector<actors::transfer_result>>();
  actors::index_actor index;
  const core::device_id self = device(1), up = device(2), other = device(3), down = device(4);
  std::size_t next_tmp = 0;

  node_fixture() {
    ctx.state_dir = "/state";
    ctx.marker = "/state";
    ctx.files = &files;
    ctx.detach_io = false;
    ctx.self = self;
    ctx.net = &net;
    ctx.partials = &partials;
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.verbosity", caf::atom("quiet"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    auto stand_in = sys->spawn([r = results]() -> caf::behavior {
      return {[r](actors::finished_atom, actors::transfer_result& res) {
        r->push_back(std::move(res));
      }};
    });
    index = caf::actor_cast<actors::index_actor>(stand_in);
    settle();
  }

  ~node_fixture() {
    caf::anon_send_exit(index, caf::exit_reason::user_shutdown);
    settle();
  }

  std::string new_tmp_path() { return "/state/tmp/" + std::to_string(++next_tmp); }

  // Delivers every message, and every timer due now (no time passes).
  void settle() {
    do
      sched->run();
    while (sched->advance_time(std::chrono::nanoseconds(0)) > 0);
  }
  // Lets `d` pass in steps of `step`, delivering everything due at each.
  void pass(std::chrono::milliseconds d, std::chrono::milliseconds step) {
    for (auto t = std::chrono::milliseconds(0); t < d; t += step) {
      sched->advance_time(step);
      settle();
    }
  }

  // The status an actor answers (as the console asks it).
  template <class Handle>
  core::actor_status status_of(const Handle& a) {
    auto out = std::make_shared<std::optional<core::actor_status>>();
    sys->spawn([a, out](caf::event_based_actor* asker) {
      asker->request(a, caf::infinite, actors::status_atom::value)
          .then([out](const core::actor_status& s) { *out = s; });
    });
    settle();
    REQUIRE(out->has_value());
    return **out;
  }
};

} // namespace cascade::test
