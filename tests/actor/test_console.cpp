// The debug console's bridge to the actors under CAF's testing scheduler: a question goes to
// the console actor as a message that carries the server's reply object (a value, no closure),
// and the answer comes back through that object's fulfil().
#include <doctest/doctest.h>

#include <caf/all.hpp>

#include <memory>
#include <optional>

#include "actors/actors.hpp"

using namespace cascade;

namespace {

// Stands in for the console server's side (a KJ cross-thread promise in a node).
struct recorded_reply final : rpc::console_reply {
  int calls = 0;
  std::optional<core::console_answer> answer;
  void fulfil(core::console_answer a) override {
    ++calls;
    answer = std::move(a);
  }
};

struct console_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  actors::node_context ctx; // no folder, network or ignore rules: questions that need none
  actors::console_actor console;
  std::unique_ptr<rpc::console_backend> backend;

  console_fixture() {
    cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    console = actors::spawn_console(*sys, ctx, {}, "group");
    backend = actors::make_console_backend(console, {});
    sched->run();
  }

  ~console_fixture() {
    caf::anon_send_exit(console, caf::exit_reason::user_shutdown);
    sched->run();
  }

  std::shared_ptr<recorded_reply> ask(core::console_query_kind kind, std::string arg = {}) {
    auto reply = std::make_shared<recorded_reply>();
    backend->ask({kind, std::move(arg), {}}, reply);
    return reply;
  }
};

} // namespace

TEST_CASE_FIXTURE(console_fixture, "a question for the actors is answered through its reply") {
  auto reply = ask(core::console_query_kind::ignores);
  CHECK(reply->calls == 0); // posted to the console actor, not answered on the caller's thread
  sched->run();
  REQUIRE(reply->calls == 1);
  CHECK(reply->answer->error.empty());
  CHECK(reply->answer->ignore_patterns.empty()); // this node has no .cascadeignore
  sched->run();
  CHECK(reply->calls == 1); // fulfilled once
}

TEST_CASE_FIXTURE(console_fixture, "the backend answers on the spot what needs no actor") {
  auto reply = ask(core::console_query_kind::deny, "not-a-device-id");
  REQUIRE(reply->calls == 1);
  CHECK(reply->answer->error == "'not-a-device-id' is not a device id");
  CHECK(!sched->has_job());
}

TEST_CASE_FIXTURE(console_fixture, "the console actor refuses what its server answers itself") {
  auto reply = std::make_shared<recorded_reply>();
  caf::anon_send(console, actors::ask_atom::value,
                 core::console_query{core::console_query_kind::log_level, "debug", {}},
                 actors::console_reply_to{reply});
  sched->run();
  REQUIRE(reply->calls == 1);
  CHECK(reply->answer->error == "this question is answered by the console server itself");
}
