#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include "builders.hpp"
#include "core/offer_rule.hpp"

using namespace cascade::core;
using test::file;

namespace {

// An offer that is accepted: a new file of 1000 bytes, nothing of it here, a slot free.
offer_facts acceptable() {
  offer_facts f;
  f.session_up = true;
  f.is_file = true;
  f.free_slots = 2;
  f.size = 1000;
  f.verdict = {{verdict::take}};
  return f;
}

using change = std::function<void(offer_facts&)>;

offer_facts with(std::vector<change> changes) {
  auto f = acceptable();
  for (auto& c : changes)
    c(f);
  return f;
}

// One change per decline reason, each making the acceptable offer declined for that reason.
const change no_session = [](offer_facts& f) { f.session_up = false; };
const change halted = [](offer_facts& f) { f.halted = true; };
const change store_paused = [](offer_facts& f) { f.store_paused = true; };
const change user_paused = [](offer_facts& f) { f.user_paused = true; };
const change deletion = [](offer_facts& f) { f.deleted = true; };
const change directory = [](offer_facts& f) { f.is_file = false; };
const change transferring = [](offer_facts& f) { f.transferring = true; };
const change no_slot = [](offer_facts& f) { f.free_slots = 0; };
const change waiters = [](offer_facts& f) { f.slot_waiters = 1; };
const change ignored = [](offer_facts& f) { f.ignored = true; };
const change held = [](offer_facts& f) { f.verdict = {{verdict::take}, true}; };
const change have_it = [](offer_facts& f) { f.verdict = {{verdict::ignore}}; };
const change ours_wins = [](offer_facts& f) { f.verdict = {{verdict::keep_local}}; };
const change mostly_here = [](offer_facts& f) { f.held_bytes = 501; };

// Each check with its reason, in the rule's order. The verdicts that decline are one fact
// (f.verdict): `held` stands for them here, the others are checked on their own.
struct step {
  change c;
  const char* reason;
};
const std::vector<step> in_order = {
    {no_session, "no_session"},
    {halted, "halted"},
    {store_paused, "store_paused"},
    {user_paused, "user_paused"},
    {deletion, "deleted"},
    {directory, "not_a_file"},
    {transferring, "transferring"},
    {no_slot, "no_free_slot"},
    {waiters, "others_waiting"},
    {ignored, "ignored"},
    {held, "held"},
    {mostly_here, "mostly_here"},
};

std::string why(const offer_facts& f) {
  return offer_decision_name(decide_offer(f));
}

} // namespace

TEST_CASE("offer rule: an offer that passes every check is accepted") {
  CHECK(why(acceptable()) == "accept");
  // A conflict the offered version wins is taken too (our copy is moved aside first).
  CHECK(why(with({[](offer_facts& f) { f.verdict = {{verdict::take_conflict}}; }})) == "accept");
}

TEST_CASE("offer rule: one reason per check") {
  auto all = in_order;
  all.push_back({have_it, "have_version"});
  all.push_back({ours_wins, "ours_wins"});
  for (auto& r : all) {
    CAPTURE(r.reason);
    CHECK(why(with({r.c})) == r.reason);
  }
}

TEST_CASE("offer rule: when several checks decline, the earlier one is the reason") {
  // Each pair of neighbours, both ways round.
  for (std::size_t i = 0; i + 1 < in_order.size(); ++i) {
    CAPTURE(in_order[i].reason);
    CHECK(why(with({in_order[i].c, in_order[i + 1].c})) == in_order[i].reason);
    CHECK(why(with({in_order[i + 1].c, in_order[i].c})) == in_order[i].reason);
  }
  // Every check failing at once: the first.
  std::vector<change> all;
  for (auto& [c, reason] : in_order)
    all.push_back(c);
  CHECK(why(with(all)) == "no_session");
  // Edges worth naming.
  CHECK(why(with({user_paused, no_slot})) == "user_paused");
  CHECK(why(with({store_paused, user_paused})) == "store_paused");
  CHECK(why(with({no_slot, ignored})) == "no_free_slot");
  CHECK(why(with({ignored, have_it})) == "ignored");
  // The verdicts that decline (one at a time: they are one fact) come after the ignore patterns
  // and before the bytes held.
  CHECK(why(with({have_it, mostly_here})) == "have_version");
  CHECK(why(with({ours_wins, mostly_here})) == "ours_wins");
  CHECK(why(with({ignored, ours_wins})) == "ignored");
  CHECK(why(with({transferring, have_it})) == "transferring");
}

TEST_CASE("offer rule: a slot free but others waiting for one declines; no waiter accepts") {
  CHECK(why(with({[](offer_facts& f) {
          f.free_slots = 1;
          f.slot_waiters = 3;
        }})) == "others_waiting");
  CHECK(why(with({[](offer_facts& f) { f.free_slots = 1; }})) == "accept");
}

TEST_CASE("offer rule: mostly here means more than half the bytes") {
  auto held_of = [](std::uint64_t size, std::uint64_t held) {
    return with({[=](offer_facts& f) {
      f.size = size;
      f.held_bytes = held;
    }});
  };
  CHECK(why(held_of(1000, 500)) == "accept"); // exactly half: pushed
  CHECK(why(held_of(1000, 501)) == "mostly_here");
  CHECK(why(held_of(1000, 1000)) == "mostly_here");
  CHECK(why(held_of(1001, 500)) == "accept");
  CHECK(why(held_of(0, 0)) == "accept"); // an empty file holds nothing
}

TEST_CASE("offer rule: each stage reads only its own facts and those before") {
  // The actor gathers the verdict and the chunks only when the stages before accept.
  auto late = with({have_it, mostly_here});
  CHECK(decide_offer_upto(late, offer_stage::state) == offer_decision::accept);
  CHECK(decide_offer_upto(late, offer_stage::verdict) == offer_decision::have_version);
  CHECK(decide_offer_upto(with({mostly_here}), offer_stage::verdict) == offer_decision::accept);
  CHECK(decide_offer_upto(with({mostly_here}), offer_stage::chunks) == offer_decision::mostly_here);
  // An early decline is the same at every stage.
  for (auto stage : {offer_stage::state, offer_stage::verdict, offer_stage::chunks})
    CHECK(decide_offer_upto(with({no_slot, have_it}), stage) == offer_decision::no_free_slot);
}

TEST_CASE("offer rule: the verdict on real records, in each mode") {
  auto local = file("A:1", 100, 'A', "a|b");
  auto verdict_of = [&](folder_mode m, const file_record& offered) {
    auto f = acceptable();
    f.verdict = decide_in_mode(m, &local, offered);
    return why(f);
  };
  auto newer = file("A:1,B:1", 200, 'B', "c|d");
  CHECK(verdict_of(folder_mode::send_receive, newer) == "accept");
  CHECK(verdict_of(folder_mode::send_only, newer) == "held");
  CHECK(verdict_of(folder_mode::receive_only, newer) == "accept");
  CHECK(verdict_of(folder_mode::send_receive, file("A:1")) == "have_version");
  // Concurrent: the newer mtime wins.
  CHECK(verdict_of(folder_mode::send_receive, file("B:1", 50, 'B', "c")) == "ours_wins");
  CHECK(verdict_of(folder_mode::send_receive, file("B:1", 300, 'B', "c")) == "accept");
  // receive-only: the group's version wins over ours.
  CHECK(verdict_of(folder_mode::receive_only, file("B:1", 50, 'B', "c")) == "accept");
}

TEST_CASE("offer rule: every decision has its own name") {
  auto names = test::enum_names(offer_decision::not_ready, offer_decision_name);
  CHECK(test::distinct_names(names));
  CHECK(names.front() == "accept");
  CHECK(std::string(offer_decision_name(offer_decision::slot_refused)) == "slot_refused");
}

TEST_CASE("offer rule: bytes held are chunks copied locally or verified before, once each") {
  auto r = file("A:1", 100, 'A', "aa|bbbb|cccccccc"); // chunks of 2, 4 and 8 bytes
  auto copy = [](std::size_t i) { return chunk_copy{i, {"old.txt", 0}}; };
  CHECK(held_bytes(r, {}, {}) == 0);
  CHECK(held_bytes(r, {copy(1)}, {}) == 4);
  CHECK(held_bytes(r, {}, {true, false, true}) == 10);
  // Copied and verified both: counted once.
  CHECK(held_bytes(r, {copy(0), copy(2)}, {true, false, true}) == 10);
  CHECK(held_bytes(r, {copy(0), copy(0)}, {}) == 2);
  CHECK(held_bytes(r, {copy(1)}, {true, false, false}) == 6);
  // A short verified list: the rest are not; a copy past the end is ignored.
  CHECK(held_bytes(r, {}, {true}) == 2);
  CHECK(held_bytes(r, {copy(7)}, {}) == 0);
  CHECK(held_bytes(r, {copy(0), copy(1), copy(2)}, {}) == r.size);
}

TEST_CASE("offer rule: an accepted push sends every chunk") {
  CHECK(all_chunks(file("A:1", 100, 'A', "a|b|c")) == std::vector<std::size_t>{0, 1, 2});
  CHECK(all_chunks(file("A:1", 100, 'A', "")).empty());
}
