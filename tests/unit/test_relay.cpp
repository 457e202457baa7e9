// Relay planning: chains described by letters ("ABC" is A then B then C).
#include <doctest/doctest.h>

#include <string>

#include "core/relay.hpp"

using namespace cascade::core;

namespace {

device_id d(char c) {
  device_id id{};
  id[0] = static_cast<std::uint8_t>(c);
  return id;
}

std::vector<device_id> ids(const std::string& letters) {
  std::vector<device_id> out;
  for (char c : letters)
    out.push_back(d(c));
  return out;
}

std::string letters(const std::vector<device_id>& v) {
  std::string out;
  for (auto& id : v)
    out += static_cast<char>(id[0]);
  return out;
}

std::string hop(const std::string& plan, const std::string& connected, const std::string& skip) {
  auto s = next_hop(ids(plan), ids(connected), ids(skip));
  return (s.next ? std::string(1, static_cast<char>((*s.next)[0])) : std::string("-")) + "|" +
         letters(s.rest);
}

} // namespace

TEST_CASE("a chain puts known fast links first, then unknown ones, ties by id") {
  CHECK(letters(plan_chain({{d('C'), 0}, {d('A'), 0}, {d('B'), 0}})) == "ABC");
  CHECK(letters(plan_chain({{d('C'), 0}, {d('A'), 5e6}, {d('B'), 1e7}})) == "BAC");
  CHECK(letters(plan_chain({{d('B'), 1e7}, {d('A'), 1e7}})) == "AB");
  CHECK(letters(plan_chain({})) == "");
  CHECK(letters(plan_chain({{d('A'), 0}, {d('A'), 3}})) == "A"); // a peer appears once
}

TEST_CASE("next hop follows the plan among connected peers") {
  // Full mesh, source S planned ABCD: A gets BCD and hands B the rest; every node skips the
  // nodes that already have or get the file (the offer carries them).
  CHECK(hop("BCD", "SBCD", "SA") == "B|CD");
  CHECK(hop("CD", "SACD", "SAB") == "C|D");
  CHECK(hop("D", "SABD", "SABC") == "D|");
  CHECK(hop("", "SABC", "SABCD") == "-|");
}

TEST_CASE("peers outside the plan (another part of the network) follow the plan") {
  // Chain of hosts 1-2-3: host 2 got the file from 1 with an empty plan and forwards to 3.
  CHECK(hop("", "13", "1") == "3|");
  // Plan members we cannot reach are left to repair; our own extra peers come after the plan.
  CHECK(hop("BXC", "SBCZY", "S") == "B|CYZ");
}

TEST_CASE("the upstream and known holders are never offered the file") {
  CHECK(hop("ABC", "ABC", "B") == "A|C");
  CHECK(hop("", "ABC", "ABC") == "-|");
  auto s = next_hop(ids("AAB"), ids("AB"), {});
  CHECK(letters(s.rest) == "B"); // no duplicates
}

TEST_CASE("every connected peer is covered exactly once along a full-mesh chain") {
  // Simulate the cascade over a full mesh of S + 8 peers: each node passes the rest on.
  std::string all = "SABCDEFGH";
  auto plan = plan_chain({{d('H'), 0},
                          {d('B'), 0},
                          {d('A'), 0},
                          {d('G'), 0},
                          {d('C'), 0},
                          {d('D'), 0},
                          {d('E'), 0},
                          {d('F'), 0}});
  std::string received;
  auto step = next_hop(plan, ids(all), ids("S"));
  while (step.next) {
    char me = static_cast<char>((*step.next)[0]);
    CHECK(received.find(me) == std::string::npos);
    received += me;
    auto connected = ids(all);
    step = next_hop(step.rest, connected, ids("S" + received));
  }
  CHECK(received == "ABCDEFGH");
}

namespace {

// The relay's scope from letters: "rest|visited" after relay_scope_for.
std::string scope(const std::string& rest, const std::string& visited, char self, char upstream) {
  auto s = relay_scope_for(ids(rest), ids(visited), d(self),
                           upstream == '-' ? std::nullopt : std::optional<device_id>(d(upstream)));
  return letters(s.rest) + "|" + letters(s.visited);
}

// Where a relay offers next, given what the offer carried and who it is connected to.
std::string relay_hop(const std::string& rest, const std::string& visited, char self, char upstream,
                      const std::string& connected) {
  auto s = relay_scope_for(ids(rest), ids(visited), d(self), d(upstream));
  return hop(letters(s.rest), connected, letters(s.visited));
}

} // namespace

TEST_CASE("a relay adds its upstream and itself to the visited list") {
  CHECK(scope("BC", "S", 'A', 'S') == "BC|SA");
  // An offer whose visited list does not name the sender (an older or careless upstream).
  CHECK(scope("BC", "", 'A', 'U') == "BC|UA");
  // Nobody visited stays in the rest, and nobody appears twice.
  CHECK(scope("BUCA", "UU", 'A', 'U') == "BC|UA");
  // The source has no upstream.
  CHECK(scope("ABC", "", 'S', '-') == "ABC|S");
}

TEST_CASE("a relay never offers the file back to its upstream") {
  // A relay connected only to its upstream has nobody to offer to.
  CHECK(relay_hop("", "", 'A', 'U', "U") == "-|");
  // Upstream U forgot itself in `visited` and even listed itself in `rest`: still skipped.
  CHECK(relay_hop("UB", "", 'A', 'U', "UB") == "B|");
  // The downstream gets U in its visited list, so it does not offer to U either.
  auto a = relay_scope_for({}, {}, d('A'), d('U'));
  auto b = relay_scope_for(a.rest, a.visited, d('B'), d('A'));
  CHECK(letters(b.visited) == "UAB");
  CHECK(hop(letters(b.rest), "UAC", letters(b.visited)) == "C|");
}

TEST_CASE("a relay keeps every other peer: the rest of the plan and its own peers") {
  CHECK(relay_hop("BC", "S", 'A', 'S', "SBCD") == "B|CD");
  CHECK(relay_hop("", "", 'A', 'U', "UXY") == "X|Y");
  // Without the upstream rule the upstream would be picked first (it sorts first).
  CHECK(hop("", "UXY", "A") == "U|XY");
}
