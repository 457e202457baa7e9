// Two honest peers over an in-memory pipe (pipe_peers.hpp): the session comes up, and offers,
// have queries and fetches reach the other side's listener and their answers come back.
#include <doctest/doctest.h>

#include "pipe_peers.hpp"

using namespace peers;

TEST_CASE("a session comes up on both ends of the pipe, each naming the other device") {
  pipe_peers p;
  REQUIRE(p.up());
  CHECK(p.a.events.up.front().device == p.b.id);
  CHECK(p.b.events.up.front().device == p.a.id);
  CHECK(p.a.events.up.front().outbound);
  CHECK_FALSE(p.b.events.up.front().outbound);
}

TEST_CASE("updates: a subscription and a batch reach the listener; its answer comes back") {
  pipe_peers p;
  REQUIRE(p.up());
  p.b.net->subscribe(p.b.session, 77, 5);
  REQUIRE(p.pump_until([&] { return p.a.events.subscribes.size() == 1; }));
  CHECK(p.a.events.subscribes[0].epoch == 77);
  CHECK(p.a.events.subscribes[0].from == 5);
  auto entry = file_entry("small.txt", "hello");
  entry.has_data = true;
  entry.data = "hello";
  std::vector<std::pair<bool, bool>> acks; // (ok, need_full)
  auto done = [&acks](bool ok, bool need_full) { acks.emplace_back(ok, need_full); };
  p.a.net->send_update(p.a.session, {entry}, 5, 6, done);
  REQUIRE(p.pump_until([&] { return p.b.events.updates.size() == 1; }));
  auto& u = p.b.events.updates[0];
  REQUIRE(u.entries.size() == 1);
  CHECK(u.entries[0].record.path == "small.txt");
  CHECK(u.entries[0].data == "hello");
  CHECK(u.entries[0].record.chunks == entry.record.chunks);
  CHECK(u.from == 5);
  CHECK(u.last == 6);
  CHECK(acks.empty()); // answered once the listener has taken it
  p.b.net->complete_update(p.b.session, u.call, true, true);
  p.a.net->send_update(p.a.session, {entry}, 6, 7, done);
  REQUIRE(p.pump_until([&] { return p.b.events.updates.size() == 2; }));
  p.b.net->complete_update(p.b.session, p.b.events.updates[1].call, false);
  REQUIRE(p.pump_until([&] { return acks.size() == 2; }));
  CHECK(acks[0] == std::make_pair(true, true)); // need_full: send the batch again in full
  CHECK(acks[1] == std::make_pair(false, false));
  CHECK(p.b.events.down.empty());
}

TEST_CASE("offers: the listener gets the offer; a decline and an accept reach the offerer") {
  pipe_peers p;
  REQUIRE(p.up());
  auto content = pattern(200 * 1024, 3);
  auto entry = file_entry("dir/offered.bin", content);
  core::device_id rest{}, visited{};
  rest[0] = 0xaa;
  visited[0] = 0xbb;

  auto declined = std::make_shared<push_recorder>();
  p.a.net->offer(p.a.session, entry, {rest}, {visited}, declined);
  REQUIRE(p.pump_until([&] { return p.b.events.offers.size() == 1; }));
  auto& got = p.b.events.offers.front();
  CHECK(got.session == p.b.session);
  CHECK(got.entry.record.path == "dir/offered.bin");
  CHECK(got.entry.record.size == content.size());
  CHECK(got.entry.record.chunks == entry.record.chunks);
  CHECK(got.rest == std::vector<core::device_id>{rest});
  CHECK(got.visited == std::vector<core::device_id>{visited});
  CHECK_FALSE(declined->answer.has_value()); // no answer before the listener's
  p.b.net->decline_offer(p.b.session, got.call);
  REQUIRE(p.pump_until([&] { return declined->answer.has_value(); }));
  CHECK(*declined->answer == false);

  auto accepted = std::make_shared<push_recorder>();
  auto push = p.a.net->offer(p.a.session, entry, {}, {}, accepted);
  REQUIRE(p.pump_until([&] { return p.b.events.offers.size() == 2; }));
  auto into = std::make_shared<collector>();
  p.b.net->accept_offer(p.b.session, p.b.events.offers.back().call, into);
  REQUIRE(p.pump_until([&] { return accepted->answer.has_value(); }));
  CHECK(*accepted->answer == true);
  // Two frames, then the end: the receiver gets the bytes at their offsets and a clean end.
  p.a.net->push(push, {piece_of(0, content.substr(0, 100000))});
  p.a.net->push(push, {piece_of(100000, content.substr(100000))});
  p.a.net->finish_push(push, "");
  REQUIRE(p.pump_until([&] { return into->done.has_value(); }));
  CHECK(*into->done == "");
  CHECK(into->frames == 2);
  CHECK(accepted->sent == 2);
  CHECK(into->assemble(content.size()) == content);
  CHECK_FALSE(accepted->failed.has_value());
}

TEST_CASE("offers: a push that ends with an error hands that error to the receiver") {
  pipe_peers p;
  REQUIRE(p.up());
  auto content = pattern(1000, 4);
  auto obs = std::make_shared<push_recorder>();
  auto push = p.a.net->offer(p.a.session, file_entry("f.bin", content), {}, {}, obs);
  REQUIRE(p.pump_until([&] { return p.b.events.offers.size() == 1; }));
  auto into = std::make_shared<collector>();
  p.b.net->accept_offer(p.b.session, p.b.events.offers.front().call, into);
  REQUIRE(p.pump_until([&] { return obs->answer.has_value(); }));
  p.a.net->push(push, {piece_of(0, content.substr(0, 500))});
  p.a.net->finish_push(push, "source changed during the send");
  REQUIRE(p.pump_until([&] { return into->done.has_value(); }));
  CHECK(*into->done == "source changed during the send");
  CHECK(into->bytes() == 500);
}

TEST_CASE("have: the asker gets what the listener answers, or a timeout when it does not") {
  pipe_peers p;
  REQUIRE(p.up());
  core::version_vector v({{7, 3}, {9, 1}});
  std::vector<rpc::have_answer> answers;
  auto ask = [&](std::chrono::milliseconds timeout) {
    p.a.net->have(p.a.session, "dir/f.bin", v, 11, timeout,
                  [&answers](rpc::have_answer a) { answers.push_back(std::move(a)); });
  };
  ask(std::chrono::seconds(5));
  REQUIRE(p.pump_until([&] { return p.b.events.haves.size() == 1; }));
  CHECK(p.b.events.haves[0].path == "dir/f.bin");
  CHECK(p.b.events.haves[0].version == v);
  std::vector<bool> bits = {true, false, true, true, false, false, false, false, true, false, true};
  p.b.net->answer_have(p.b.session, p.b.events.haves[0].call, false, bits);
  REQUIRE(p.pump_until([&] { return answers.size() == 1; }));
  CHECK(answers[0].ok);
  CHECK_FALSE(answers[0].complete);
  CHECK(answers[0].chunks == bits);

  ask(std::chrono::seconds(5));
  REQUIRE(p.pump_until([&] { return p.b.events.haves.size() == 2; }));
  p.b.net->answer_have(p.b.session, p.b.events.haves[1].call, true, {});
  REQUIRE(p.pump_until([&] { return answers.size() == 2; }));
  CHECK(answers[1].ok);
  CHECK(answers[1].complete);

  ask(std::chrono::milliseconds(50)); // never answered
  REQUIRE(p.pump_until([&] { return answers.size() == 3; }));
  CHECK_FALSE(answers[2].ok);
  CHECK(answers[2].error == "have timed out");
}

TEST_CASE("fetch: byte ranges come back right and end cleanly; a missing file gets an error") {
  pipe_peers p;
  REQUIRE(p.up());
  auto content = pattern(3 * 1024 * 1024 + 17, 5);
  p.a.write_file("data.bin", content);
  auto into = std::make_shared<collector>();
  // Three ranges, one of them across the 1 MiB frame size.
  std::vector<core::byte_range> ranges = {{10, 1000}, {500000, 1500000}, {3 * 1024 * 1024, 17}};
  auto f = p.b.net->fetch(p.b.session, "data.bin", ranges, into);
  REQUIRE(p.pump_until([&] {
    if (into->frames > 0)
      p.b.net->consumed(f, into->frames); // the receiver keeps up
    return into->done.has_value();
  }));
  CHECK(*into->done == "");
  std::uint64_t total = 0;
  for (auto& r : ranges)
    total += r.length;
  CHECK(into->bytes() == total);
  for (auto& piece : into->pieces) {
    std::string got(piece.data.begin(), piece.data.end());
    CHECK(got == content.substr(piece.offset, piece.data.size()));
  }
  CHECK(p.a.kj().conns.begin()->second->serving == 0); // the served fetch was let go

  auto missing = std::make_shared<collector>();
  p.b.net->fetch(p.b.session, "missing.bin", {{0, 10}}, missing);
  REQUIRE(p.pump_until([&] { return missing->done.has_value(); }));
  CHECK(*missing->done == "cannot read missing.bin (changed or removed on the sender)");
  CHECK(missing->pieces.empty());
  CHECK(p.a.events.down.empty()); // the session stays up
  CHECK(p.b.events.down.empty());
}
