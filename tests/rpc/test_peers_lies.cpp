// A peer that lies in what it sends (index updates, offers, pushed bytes), over an in-memory
// pipe: `a` lies through the real sending API (to_wire checks nothing, as a hostile build would
// not), `b` is the honest side. What the honest side does is asserted as the code decides it:
// a bad record or offer is refused with a log line and the session keeps serving; a broken
// limit closes the session, saying which.
#include <doctest/doctest.h>

#include "pipe_peers.hpp"

using namespace peers;

namespace {

struct update_result {
  std::optional<bool> ok, need_full;
};

void send(pipe_peers& p, std::vector<rpc::wire_entry> entries, std::uint64_t last,
          update_result& out) {
  p.a.net->send_update(p.a.session, std::move(entries), 0, last, [&out](bool ok, bool need_full) {
    out.ok = ok;
    out.need_full = need_full;
  });
}

} // namespace

TEST_CASE("lies: malformed records in an update are refused one by one; the rest is applied") {
  pipe_peers p;
  REQUIRE(p.up());
  std::vector<rpc::wire_entry> batch;
  batch.push_back(file_entry("../escape", "x"));
  auto gap = file_entry("gap.bin", pattern(1000));
  gap.record.chunks[0].offset = 1;
  batch.push_back(gap);
  auto short_chunks = file_entry("short.bin", pattern(1000));
  short_chunks.record.size = 5000;
  batch.push_back(short_chunks);
  auto unversioned = file_entry("unversioned.bin", "x");
  unversioned.record.version = {};
  batch.push_back(unversioned);
  auto inline_lie = file_entry("inline.txt", "twenty-two bytes long\n");
  inline_lie.has_data = true;
  inline_lie.data = "more bytes than the record says it has";
  batch.push_back(inline_lie);
  batch.push_back(file_entry(".cascade/identity", "x"));
  batch.push_back(file_entry("good.txt", "good"));
  update_result r;
  send(p, batch, 42, r);
  REQUIRE(p.pump_until([&] { return p.b.events.updates.size() == 1; }));
  auto& u = p.b.events.updates.front();
  REQUIRE(u.entries.size() == 1);
  CHECK(u.entries[0].record.path == "good.txt");
  CHECK(u.last == 42);
  CHECK(p.b.events.logged("rejected a record from session") == 6);
  CHECK(p.b.events.logged("path '../escape'") == 1);
  CHECK(p.b.events.logged("malformed chunk list for 'gap.bin'") == 1);
  CHECK(p.b.events.logged("chunks do not cover 'short.bin'") == 1);
  CHECK(p.b.events.logged("empty version for 'unversioned.bin'") == 1);
  CHECK(p.b.events.logged("inline data does not match 'inline.txt'") == 1);
  CHECK(p.b.events.logged("path '.cascade/identity'") == 1);
  CHECK_FALSE(r.ok.has_value()); // the batch is answered once the listener has taken it
  p.b.net->complete_update(p.b.session, u.call, true);
  REQUIRE(p.pump_until([&] { return r.ok.has_value(); }));
  CHECK(*r.ok);
  CHECK_FALSE(*r.need_full);
  CHECK(p.b.events.down.empty()); // still serving
}

TEST_CASE("lies: an update over the entry limit closes the session") {
  pipe_peers p;
  REQUIRE(p.up());
  std::vector<rpc::wire_entry> batch;
  for (std::size_t i = 0; i <= rpc::max_entries_per_update; ++i)
    batch.push_back(file_entry("f" + std::to_string(i), "x"));
  update_result r;
  send(p, batch, 1, r);
  REQUIRE(p.pump_until([&] { return r.ok.has_value() && !p.a.events.down.empty(); }));
  CHECK_FALSE(*r.ok);
  REQUIRE(p.b.events.down.size() == 1);
  CHECK(p.b.events.down[0] == "update with 10001 entries exceeds the limit");
  CHECK(p.b.events.updates.empty());
}

TEST_CASE("lies: more unanswered updates than the limit close the session") {
  pipe_peers p;
  REQUIRE(p.up());
  std::vector<update_result> r(rpc::max_pending_updates + 1);
  for (auto& x : r)
    send(p, {file_entry("f", "x")}, 1, x);
  REQUIRE(p.pump_until([&] { return !p.b.events.down.empty() && r.back().ok.has_value(); }));
  CHECK(p.b.events.down[0] == "peer broke the limit of 4 pending index updates");
  CHECK(p.b.events.updates.size() == rpc::max_pending_updates); // the ones within the limit
  CHECK_FALSE(*r.back().ok);
}

TEST_CASE("lies: a malformed offer is declined and the session keeps serving offers") {
  pipe_peers p;
  REQUIRE(p.up());
  auto escape = std::make_shared<push_recorder>();
  p.a.net->offer(p.a.session, file_entry("../offer-escape", "x"), {}, {}, escape);
  std::vector<core::device_id> relays(1025); // the limit is 1024
  auto crowd = std::make_shared<push_recorder>();
  p.a.net->offer(p.a.session, file_entry("crowd.bin", "x"), relays, {}, crowd);
  REQUIRE(p.pump_until([&] { return escape->answer && crowd->answer; }));
  CHECK(*escape->answer == false);
  CHECK(*crowd->answer == false);
  CHECK(p.b.events.offers.empty()); // the listener never saw them
  CHECK(p.b.events.logged("refused a malformed offer: path '../offer-escape'") == 1);
  CHECK(p.b.events.logged("refused a malformed offer") == 2);
  auto honest = std::make_shared<push_recorder>();
  p.a.net->offer(p.a.session, file_entry("honest.bin", "x"), {}, {}, honest);
  REQUIRE(p.pump_until([&] { return p.b.events.offers.size() == 1; }));
  CHECK(p.b.events.down.empty());
}

TEST_CASE("lies: more unanswered offers than the limit close the session") {
  pipe_peers p;
  REQUIRE(p.up());
  std::vector<std::shared_ptr<push_recorder>> obs;
  for (long i = 0; i <= rpc::max_pending_offers; ++i) {
    obs.push_back(std::make_shared<push_recorder>());
    p.a.net->offer(p.a.session, file_entry("f" + std::to_string(i), "x"), {}, {}, obs.back());
  }
  REQUIRE(p.pump_until([&] { return !p.b.events.down.empty() && obs.back()->failed; }));
  CHECK(p.b.events.down[0] == "peer broke the limit of 64 pending offers");
  CHECK(p.b.events.offers.size() == static_cast<std::size_t>(rpc::max_pending_offers));
}

// Bytes are judged above this layer: the transfer actor checks every chunk against the hashes
// of its record (src/actors/transfer.cpp: out of order, more than asked, hash mismatch).
TEST_CASE("lies: pushed bytes reach the receiver as sent; the sink does not judge them") {
  pipe_peers p;
  REQUIRE(p.up());
  auto obs = std::make_shared<push_recorder>();
  auto push = p.a.net->offer(p.a.session, file_entry("small.bin", pattern(100)), {}, {}, obs);
  REQUIRE(p.pump_until([&] { return p.b.events.offers.size() == 1; }));
  auto into = std::make_shared<collector>();
  p.b.net->accept_offer(p.b.session, p.b.events.offers.front().call, into);
  REQUIRE(p.pump_until([&] { return obs->answer.has_value(); }));
  p.a.net->push(push, {piece_of(0, std::string(100, 'L')), piece_of(1 << 30, "beyond")});
  p.a.net->finish_push(push, "");
  REQUIRE(p.pump_until([&] { return into->done.has_value(); }));
  REQUIRE(into->pieces.size() == 2);
  CHECK(std::string(into->pieces[0].data.begin(), into->pieces[0].data.end()) ==
        std::string(100, 'L'));
  CHECK(into->pieces[1].offset == 1u << 30);
  CHECK(*into->done == "");
}
