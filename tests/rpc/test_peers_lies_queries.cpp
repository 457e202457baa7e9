// A peer that lies in what it asks or answers (fetches, have queries and answers, its hello),
// over an in-memory pipe; the honest side refuses with a clear error, and keeps serving or
// closes the session as the code decides.
#include <doctest/doctest.h>

#include "pipe_peers.hpp"

using namespace peers;

TEST_CASE("lies: a fetch of a name outside the folder is refused; the session keeps serving") {
  pipe_peers p;
  REQUIRE(p.up());
  p.a.write_file("real.bin", pattern(4096, 9));
  for (std::string bad : {"../outside/secret.txt", "/etc/passwd", ".cascade/identity", "a//b"}) {
    CAPTURE(bad);
    auto into = std::make_shared<collector>();
    p.b.net->fetch(p.b.session, bad, {{0, 10}}, into);
    REQUIRE(p.pump_until([&] { return into->done.has_value(); }));
    CHECK(into->done->find("fetch failed:") == 0);
    CHECK(into->done->find("bad path in fetch") != std::string::npos);
    CHECK(into->pieces.empty());
  }
  CHECK(p.a.events.logged("refused a fetch of a bad path") == 4);
  auto good = std::make_shared<collector>();
  p.b.net->fetch(p.b.session, "real.bin", {{0, 4096}}, good);
  REQUIRE(p.pump_until([&] { return good->done.has_value(); }));
  CHECK(*good->done == "");
  CHECK(good->assemble(4096) == pattern(4096, 9));
  CHECK(p.a.events.down.empty());
}

TEST_CASE("lies: a fetch of more ranges than the limit closes the session") {
  pipe_peers p;
  REQUIRE(p.up());
  p.a.write_file("real.bin", pattern(100));
  std::vector<core::byte_range> ranges(rpc::max_ranges_per_fetch + 1, core::byte_range{0, 1});
  auto into = std::make_shared<collector>();
  p.b.net->fetch(p.b.session, "real.bin", ranges, into);
  REQUIRE(p.pump_until([&] { return into->done.has_value() && !p.b.events.down.empty(); }));
  REQUIRE(p.a.events.down.size() == 1);
  CHECK(p.a.events.down[0].find("peer broke the limit of 16 concurrent fetches of 65536 ranges") ==
        0);
  // The asker learns it from the failed call or from the closed session, whichever comes first.
  CAPTURE(*into->done);
  CHECK((into->done->find("fetch failed:") == 0 || into->done->find("connection lost") == 0));
}

TEST_CASE("lies: malformed have queries are refused; the session keeps answering") {
  pipe_peers p;
  REQUIRE(p.up());
  std::vector<rpc::have_answer> answers;
  auto ask = [&](const std::string& path, core::version_vector v) {
    p.b.net->have(p.b.session, path, std::move(v), 4, std::chrono::seconds(5),
                  [&answers](rpc::have_answer a) { answers.push_back(std::move(a)); });
  };
  ask("../escape", core::version_vector({{1, 1}}));
  ask("liar.bin", core::version_vector());
  REQUIRE(p.pump_until([&] { return answers.size() == 2; }));
  for (auto& a : answers) {
    CHECK_FALSE(a.ok);
    CHECK(a.error.find("have failed:") == 0);
    CHECK(a.error.find("bad have query") != std::string::npos);
  }
  CHECK(p.a.events.haves.empty()); // the listener never saw them
  CHECK(p.a.events.logged("refused a malformed have query") == 2);
  ask("liar.bin", core::version_vector({{12345, 7}}));
  REQUIRE(p.pump_until([&] { return p.a.events.haves.size() == 1; }));
  p.a.net->answer_have(p.a.session, p.a.events.haves[0].call, true, {});
  REQUIRE(p.pump_until([&] { return answers.size() == 3; }));
  CHECK(answers[2].ok);
  CHECK(answers[2].complete);
}

TEST_CASE("lies: a have answer whose bitmap does not fit the file is refused") {
  pipe_peers p;
  REQUIRE(p.up());
  std::optional<rpc::have_answer> got;
  p.a.net->have(p.a.session, "f.bin", core::version_vector({{7, 2}}), 3, std::chrono::seconds(5),
                [&got](rpc::have_answer a) { got = std::move(a); });
  REQUIRE(p.pump_until([&] { return p.b.events.haves.size() == 1; }));
  // The file has 3 chunks; the liar claims a bitmap of 9 (two bytes where one is due).
  p.b.net->answer_have(p.b.session, p.b.events.haves[0].call, false, std::vector<bool>(9, true));
  REQUIRE(p.pump_until([&] { return got.has_value(); }));
  CHECK_FALSE(got->ok);
  CHECK(got->error == "malformed chunk bitmap");
  CHECK(p.a.events.down.empty());
}

TEST_CASE("lies: more unanswered have queries than the limit close the session") {
  pipe_peers p;
  REQUIRE(p.up());
  std::size_t failed = 0;
  for (long i = 0; i <= rpc::max_pending_have; ++i)
    p.a.net->have(p.a.session, "f.bin", core::version_vector({{7, 2}}), 3, std::chrono::seconds(5),
                  [&failed](rpc::have_answer a) { failed += !a.ok; });
  REQUIRE(p.pump_until([&] { return !p.b.events.down.empty(); }));
  CHECK(p.b.events.down[0] == "peer broke the limit of 64 unanswered have queries");
  CHECK(p.b.events.haves.size() == static_cast<std::size_t>(rpc::max_pending_have));
  REQUIRE(
      p.pump_until([&] { return failed == static_cast<std::size_t>(rpc::max_pending_have) + 1; }));
}

TEST_CASE("lies: a peer without the group key gets no session, on either side") {
  options o;
  o.group_b = "cas1-another-group";
  pipe_peers p(o);
  // The listener refuses the dialer's hello, naming why; the dialer sees its connection close.
  REQUIRE(p.pump_until([&] {
    return p.b.events.logged("closed before handshake: peer does not hold our group key") == 1 &&
           p.a.events.logged("closed before handshake") == 1;
  }));
  CHECK_FALSE(p.up());
  CHECK(p.a.events.up.empty());
  CHECK(p.b.events.up.empty());
  CHECK(p.a.kj().conns.empty());
  CHECK(p.b.kj().conns.empty());
}
