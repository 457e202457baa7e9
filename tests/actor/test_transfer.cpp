// The transfer actor under CAF's test coordinator, over the in-memory folder and tmp
// (io::memory_space) and the fake network (tests/actor/fake_transport.hpp): a pushed file
// arrives and is verified, a bad chunk names its sender, an upstream that dies mid-push leaves
// the rest to a pull from another holder, a partial holder is asked again for what it gained,
// a silent downstream holds the upstream's credit until it takes the frames and is handed to
// repair once it stays silent over the pace window, and a full disk ends the transfer with its
// error. The test plays every peer through the receivers and observers the actor hands to the
// network, and moves time itself.
#include <doctest/doctest.h>

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>

#include "actors/relay.hpp"
#include "io/buffer_pool.hpp"
#include "node_fixture.hpp"

using namespace cascade;
using namespace cascade::test;
using namespace std::chrono_literals;

namespace {

// Bytes [offset, offset + len) of data as one frame, in a pooled block as the network gives them.
rpc::piece piece_of(const std::vector<std::uint8_t>& data, std::uint64_t offset, std::size_t len) {
  auto block = io::frame_pool().acquire(len);
  std::memcpy(block.data(), data.data() + offset, len);
  return {offset, block.share(0, len)};
}

struct transfer_fixture : node_fixture {
  actors::transfer_actor transfer;

  ~transfer_fixture() {
    if (transfer)
      caf::anon_send_exit(transfer, caf::exit_reason::user_shutdown);
    transfer = nullptr;
    settle();
  }

  // A job for `r`: pushed from session 1 (`up`) when offered, else pulled from `sources`.
  actors::transfer_job job_for(const core::file_record& r, bool offered) {
    actors::transfer_job job;
    job.record = r;
    job.session = 1;
    job.tmp_path = new_tmp_path();
    for (std::size_t i = 0; i < r.chunks.size(); ++i)
      job.missing.push_back(i);
    if (offered)
      job.offer_call = 7;
    job.relay.visited = {self, up};
    job.relay.peers = {{up, 1}};
    partials.put(r, job.tmp_path, std::vector<bool>(r.chunks.size(), false));
    return job;
  }

  void start(actors::transfer_job job) {
    transfer = actors::spawn_transfer(*sys, ctx, std::move(job), index);
    settle();
  }

  // Sends [from, to) of data to `r` in frames of at most 1 MiB and delivers them; the number
  // of frames.
  std::size_t send_range(rpc::chunk_receiver& r, const std::vector<std::uint8_t>& data,
                         std::uint64_t from, std::uint64_t to) {
    std::size_t frames = 0;
    for (auto at = from; at < to; at += frame, ++frames)
      r.on_pieces({piece_of(data, at, std::min<std::uint64_t>(frame, to - at))});
    settle();
    return frames;
  }

  // A push of `r` from `up` (session 1) that this node relays to `down` (session 3), started;
  // the offer to `down` is answered yes.
  void start_relay(const core::file_record& r) {
    auto job = job_for(r, true);
    job.relay.rest = {down};
    job.relay.peers = {{up, 1}, {down, 3}};
    start(std::move(job));
    REQUIRE(net.accepted.size() == 1);
    REQUIRE(net.offers.size() == 1);
    net.offers[0].observer->on_answer(true);
    settle();
  }

  // A pull of `r` from `other` (session 2).
  actors::transfer_job pull_job(const core::file_record& r) {
    auto job = job_for(r, false);
    job.session = 2;
    job.sources = {{other, 2}};
    return job;
  }

  // Serves every range a fetch asked for, then ends it.
  void serve(const fake_transport::fetch_call& fetch, const std::vector<std::uint8_t>& data) {
    for (auto& range : fetch.ranges)
      send_range(*fetch.receiver, data, range.offset, range.offset + range.length);
    end_stream(*fetch.receiver, "");
  }

  void end_stream(rpc::chunk_receiver& r, const std::string& error) {
    r.on_done(error);
    settle();
  }

  // The one finished(result) the transfer sent its index.
  actors::transfer_result finished() {
    REQUIRE(results->size() == 1);
    return results->front();
  }

  // The one result, which says the file arrived; its temp file holds `data`.
  actors::transfer_result finished_whole(const std::string& tmp_path,
                                         const std::vector<std::uint8_t>& data) {
    auto res = finished();
    CHECK(res.error == "");
    CHECK(temp_bytes(tmp_path) == data);
    return res;
  }

  std::vector<std::uint8_t> temp_bytes(const std::string& path) {
    auto t = files.temp(path);
    REQUIRE(t);
    return t->bytes;
  }
};

} // namespace

TEST_CASE("transfer: a pushed file is verified, written whole and its credit given back") {
  transfer_fixture f;
  auto data = random_bytes(3 * frame + 12345, 1);
  auto r = record_of(data);
  auto job = f.job_for(r, true);
  auto tmp_path = job.tmp_path;
  f.start(std::move(job));
  REQUIRE(f.net.accepted.size() == 1);
  auto acc = f.net.accepted[0];
  CHECK(acc.session == 1);
  CHECK(acc.call == 7);
  auto frames = f.send_range(*acc.receiver, data, 0, data.size());
  CHECK(f.results->empty()); // not before the upstream said it is done
  f.end_stream(*acc.receiver, "");
  auto res = f.finished();
  CHECK(res.error == "");
  CHECK(res.bytes_fetched == data.size());
  CHECK(res.chunks_held == r.chunks.size());
  auto t = f.files.temp(tmp_path);
  REQUIRE(t);
  CHECK(t->bytes == data);
  CHECK(t->mode == 0644);
  CHECK(t->mtime_ns == r.mtime_ns);
  CHECK(t->sealed); // mode and time set, then made durable
  CHECK(f.net.consumed_frames[acc.id] == frames);
  auto p = f.partials.find(r.path, r.version);
  REQUIRE(p);
  CHECK(std::count(p->verified.begin(), p->verified.end(), true) ==
        static_cast<long>(r.chunks.size()));
}

TEST_CASE("transfer: a chunk that does not match its hash ends the push and names the sender") {
  transfer_fixture f;
  auto data = random_bytes(2 * frame, 2);
  auto r = record_of(data);
  f.start(f.job_for(r, true));
  REQUIRE(f.net.accepted.size() == 1);
  auto acc = f.net.accepted[0];
  auto bad = data;
  bad[frame + 100] ^= 0xFF; // in the second frame
  f.send_range(*acc.receiver, bad, 0, bad.size());
  auto res = f.finished();
  CHECK(res.error.find("does not match its hash") != std::string::npos);
  REQUIRE(res.bad_source);
  CHECK(*res.bad_source == f.up);
  CHECK(res.chunks_held > 0); // the chunks before the bad one stay verified, for a retry
  CHECK(res.chunks_held < r.chunks.size());
  CHECK(!f.files.temp(res.tmp_path)->sealed);
}

TEST_CASE("transfer: the upstream dies mid-push; the rest is pulled from another holder") {
  transfer_fixture f;
  auto data = random_bytes(4 * frame + 777, 3);
  auto r = record_of(data);
  auto job = f.job_for(r, true);
  job.relay.peers = {{f.up, 1}, {f.other, 2}};
  job.relay.visited = {f.self, f.up, f.other}; // other holds it: no downstream to push to
  auto tmp_path = job.tmp_path;
  f.start(std::move(job));
  REQUIRE(f.net.accepted.size() == 1);
  auto acc = f.net.accepted[0];
  f.send_range(*acc.receiver, data, 0, frame);
  f.end_stream(*acc.receiver, "connection lost");
  // Both peers are asked what they hold; the dead upstream does not answer, `other` has it all.
  REQUIRE(f.net.haves.size() == 2);
  CHECK(f.net.fetches.empty()); // not before every peer answered
  for (auto& h : std::vector(f.net.haves)) {
    rpc::have_answer a;
    a.ok = h.session == 2;
    a.complete = h.session == 2;
    a.error = h.session == 2 ? "" : "session closed";
    h.done(a);
  }
  f.settle();
  REQUIRE(f.net.fetches.size() == 1);
  auto fetch = f.net.fetches[0];
  CHECK(fetch.session == 2);
  CHECK(fetch.path == r.path);
  REQUIRE(!fetch.ranges.empty());
  CHECK(fetch.ranges.front().offset > 0); // what arrived before the upstream died is kept
  f.serve(fetch, data);
  CHECK(f.finished_whole(tmp_path, data).chunks_held == r.chunks.size());
}

TEST_CASE("transfer: a partial holder is asked again for what it gained, until all is here") {
  transfer_fixture f;
  auto data = random_bytes(3 * frame, 4);
  auto r = record_of(data);
  auto job = f.pull_job(r);
  auto tmp_path = job.tmp_path;
  f.start(std::move(job));
  const std::size_t half = r.chunks.size() / 2;
  REQUIRE(half > 0);
  auto answer = [&](std::size_t round, bool complete) {
    REQUIRE(f.net.haves.size() == round);
    rpc::have_answer a;
    a.ok = true;
    a.complete = complete;
    if (!complete) {
      a.chunks.assign(r.chunks.size(), false);
      std::fill(a.chunks.begin(), a.chunks.begin() + static_cast<long>(half), true);
    }
    f.net.haves[round - 1].done(a);
    f.settle();
  };
  auto serve = [&](std::size_t n_fetch) {
    REQUIRE(f.net.fetches.size() == n_fetch);
    auto fetch = f.net.fetches[n_fetch - 1];
    f.serve(fetch, data);
    return fetch;
  };
  answer(1, false); // round 1: the holder is itself still receiving: half the chunks
  auto first = serve(1);
  std::uint64_t first_bytes = 0;
  for (auto& range : first.ranges)
    first_bytes += range.length;
  CHECK(first_bytes == r.chunks[half].offset);
  answer(2, true); // round 2 (at once: round 1 gained chunks): it has everything now
  auto second = serve(2);
  REQUIRE(!second.ranges.empty());
  CHECK(second.ranges.front().offset == r.chunks[half].offset); // only what was missing
  CHECK(f.finished_whole(tmp_path, data).bytes_fetched == data.size());
}

TEST_CASE("transfer: a partial holder that gains nothing is asked again after growing pauses") {
  transfer_fixture f;
  auto data = random_bytes(2 * frame, 6);
  auto r = record_of(data);
  auto job = f.pull_job(r);
  f.start(std::move(job));
  rpc::have_answer first; // still receiving: it holds the first chunk, and keeps holding only it
  first.ok = true;
  first.chunks.assign(r.chunks.size(), false);
  first.chunks[0] = true;
  auto answer = [&](std::size_t round) {
    REQUIRE(f.net.haves.size() == round);
    f.net.haves[round - 1].done(first);
    f.settle();
  };
  answer(1);
  REQUIRE(f.net.fetches.size() == 1);
  auto fetch = f.net.fetches[0];
  f.send_range(*fetch.receiver, data, 0, r.chunks[0].length);
  f.end_stream(*fetch.receiver, "");
  answer(2); // at once: round 1 gained a chunk; round 2 gains nothing
  CHECK(f.net.fetches.size() == 1);
  // Round 3 comes 50 ms later, round 4 100 ms after that: not sooner.
  f.pass(40ms, 10ms);
  CHECK(f.net.haves.size() == 2);
  f.pass(20ms, 10ms);
  answer(3);
  f.pass(90ms, 10ms);
  CHECK(f.net.haves.size() == 3);
  f.pass(20ms, 10ms);
  CHECK(f.net.haves.size() == 4);
  CHECK(f.results->empty()); // still waiting for the holder, not failed
  // It never gains more: the transfer gives up after six idle rounds (about 3 s of pauses)
  // and keeps what it has for the index's next attempt.
  for (std::size_t round = 4; round < 20 && f.results->empty(); ++round) {
    answer(round);
    f.pass(3200ms, 50ms);
  }
  auto res = f.finished();
  CHECK(res.error.find("held by no connected peer") != std::string::npos);
  CHECK(res.chunks_held == 1);
}

TEST_CASE("transfer: a silent downstream holds the upstream's credit, then goes to repair") {
  transfer_fixture f;
  auto data = random_bytes(40 * frame, 5);
  auto r = record_of(data);
  f.start_relay(r);
  auto acc = f.net.accepted[0];
  auto offer = f.net.offers[0];
  CHECK(offer.session == 3);
  CHECK(offer.path == r.path);
  auto frames = f.send_range(*acc.receiver, data, 0, data.size());
  CHECK(f.status_of(f.transfer).transfer->fetched == data.size()); // all taken in, verified
  std::uint64_t passed_on = 0;
  for (auto& p : f.net.pushed[offer.id])
    passed_on += p.data.size();
  CHECK(passed_on == data.size()); // and passed on
  // The downstream acknowledged nothing: the relay holds its upstream back (no time passed).
  auto held = f.net.consumed_frames[acc.id];
  CHECK(held < frames);
  CHECK(held >= 20); // but not before it was 24 MiB ahead of the downstream
  // Silent: within the pace window it keeps its place, and the upstream stays held...
  f.pass(1000ms, 250ms);
  CHECK(f.net.finished_pushes.count(offer.id) == 0);
  CHECK(f.net.consumed_frames[acc.id] == held);
  // ...and over it, it is handed to repair; the held credit goes back to the upstream.
  f.pass(1000ms, 250ms);
  REQUIRE(f.net.finished_pushes.count(offer.id) == 1);
  CHECK(f.net.finished_pushes[offer.id].find("fell far behind") != std::string::npos);
  CHECK(f.net.consumed_frames[acc.id] == frames);
  f.end_stream(*acc.receiver, "");
  auto res = f.finished();
  CHECK(res.error == "");
  // Every byte went on to the downstream in order, each frame once.
  std::uint64_t next = 0;
  bool in_order = true;
  for (auto& p : f.net.pushed[offer.id]) {
    in_order = in_order && p.offset == next;
    next = p.offset + p.data.size();
  }
  CHECK(in_order);
  CHECK(next == data.size());
}

TEST_CASE("transfer: a full disk ends the transfer with the error; the verified chunks stay") {
  transfer_fixture f;
  auto data = random_bytes(3 * frame, 8);
  auto r = record_of(data);
  auto job = f.job_for(r, true);
  auto tmp_path = job.tmp_path;
  f.start(std::move(job));
  REQUIRE(f.net.accepted.size() == 1);
  auto acc = f.net.accepted[0];
  f.send_range(*acc.receiver, data, 0, frame);
  f.files.fail_writes(true);
  f.send_range(*acc.receiver, data, frame, data.size());
  auto res = f.finished();
  CHECK(res.error.find("cannot write temp file") != std::string::npos);
  CHECK(res.error.find("No space left on device") != std::string::npos);
  CHECK(!res.bad_source); // the sender did nothing wrong
  CHECK(res.chunks_held > 0);
  CHECK(res.chunks_held < r.chunks.size());
  CHECK(f.net.cancelled == std::vector<rpc::fetch_id>{acc.id}); // the upstream stops sending
  f.files.fail_writes(false);
  CHECK(f.files.temp(tmp_path)); // kept for the retry, which resumes it
}

TEST_CASE("transfer: a resumed file keeps its verified chunks and fetches only the rest") {
  transfer_fixture f;
  auto data = random_bytes(3 * frame, 9);
  auto r = record_of(data);
  // A first attempt ended with the first chunks verified in its temp file.
  auto job = f.job_for(r, false);
  std::size_t kept = r.chunks.size() / 2;
  job.verified.assign(r.chunks.size(), false);
  std::fill(job.verified.begin(), job.verified.begin() + static_cast<long>(kept), true);
  {
    auto t = f.files.create_temp(job.tmp_path);
    REQUIRE(t);
    REQUIRE(t->write_at(0, std::span(data).first(r.chunks[kept].offset)));
  }
  job.session = 2;
  job.sources = {{f.other, 2}};
  auto tmp_path = job.tmp_path;
  f.start(std::move(job));
  REQUIRE(f.net.haves.size() == 1);
  rpc::have_answer all;
  all.ok = all.complete = true;
  f.net.haves[0].done(all);
  f.settle();
  REQUIRE(f.net.fetches.size() == 1);
  auto fetch = f.net.fetches[0];
  REQUIRE(!fetch.ranges.empty());
  CHECK(fetch.ranges.front().offset == r.chunks[kept].offset);
  f.serve(fetch, data);
  auto res = f.finished_whole(tmp_path, data);
  CHECK(res.bytes_fetched == data.size() - r.chunks[kept].offset);
}

TEST_CASE("transfer: a downstream a little behind that stops taking frames goes after 30 s") {
  transfer_fixture f;
  auto data = random_bytes(6 * frame, 10);
  auto r = record_of(data);
  f.start_relay(r);
  auto acc = f.net.accepted[0];
  auto offer = f.net.offers[0];
  f.send_range(*acc.receiver, data, 0, data.size());
  f.end_stream(*acc.receiver, "");
  CHECK(f.finished().error == ""); // the file is here; the relay waits for its downstream
  std::size_t pushed = f.net.push_frames[offer.id];
  REQUIRE(pushed > 2);
  offer.observer->on_sent(pushed - 2); // all but the last 2 MiB or so, then nothing more
  f.settle();
  f.pass(29s, 250ms); // far less behind than the rate rule judges: kept, however slow
  CHECK(f.net.finished_pushes.count(offer.id) == 1); // the file's end was sent after the frames
  CHECK(f.net.finished_pushes[offer.id] == "");
  CHECK(f.status_of(f.transfer).state.find("finishing") != std::string::npos);
  f.pass(2s, 250ms);
  // Dropped: the push ends with why (the downstream repairs from the index), and the transfer
  // actor is gone.
  CHECK(f.net.finished_pushes[offer.id].find("took nothing for 30 s") != std::string::npos);
  auto gone = std::make_shared<bool>(false);
  f.sys->spawn([t = f.transfer, gone](caf::event_based_actor* asker) {
    asker->request(t, caf::infinite, actors::status_atom::value)
        .then([](const core::actor_status&) {}, [gone](caf::error&) { *gone = true; });
  });
  f.settle();
  CHECK(*gone);
}
