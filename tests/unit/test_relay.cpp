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
