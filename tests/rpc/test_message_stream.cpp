// rpc::message_stream and rpc::rpc_link over an in-process pipe: big messages land in pooled
// blocks that go back to the pool, data sent by reference survives its sender letting go, and
// hostile segment tables are refused before anything big is allocated.
#include <doctest/doctest.h>

#include <capnp/message.h>
#include <kj/async-io.h>

#include <cstring>
#include <string>

#include "cascade.capnp.h"
#include "rpc/message_stream.hpp"

using namespace cascade;
using capnp::word;

namespace {

struct loop_fixture {
  kj::EventLoop loop;
  kj::WaitScope ws{loop};
  kj::TwoWayPipe pipe = kj::newTwoWayPipe();
  io::buffer_pool pool{4};
  std::vector<std::uint32_t> raw;
  kj::Promise<void> writing = kj::READY_NOW;
};

// A Piece message whose data is `n` bytes of a pattern (copied into the message).
kj::Own<capnp::MallocMessageBuilder> piece_message(std::size_t n, std::uint8_t seed) {
  auto m = kj::heap<capnp::MallocMessageBuilder>();
  auto p = m->initRoot<wire::Piece>();
  p.setOffset(n);
  auto d = p.initData(static_cast<unsigned>(n));
  for (std::size_t i = 0; i < n; ++i)
    d[i] = static_cast<std::uint8_t>(seed + i * 7);
  return m;
}

bool has_pattern(capnp::Data::Reader d, std::uint8_t seed) {
  for (std::size_t i = 0; i < d.size(); ++i)
    if (d[i] != static_cast<std::uint8_t>(seed + i * 7))
      return false;
  return true;
}

// Writes raw bytes, then closes the writing side (the pipe completes a write once it is read).
void send_raw(loop_fixture& f, const std::vector<std::uint32_t>& words32) {
  f.raw = words32;
  f.writing = f.pipe.ends[0]
                  ->write(f.raw.data(), f.raw.size() * 4)
                  .then([&f] { f.pipe.ends[0]->shutdownWrite(); })
                  .eagerlyEvaluate([](kj::Exception&&) {});
}

std::string read_error(loop_fixture& f) {
  rpc::message_stream in(*f.pipe.ends[1], f.pool);
  try {
    auto m = in.tryReadMessage(capnp::ReaderOptions()).wait(f.ws);
    return m == nullptr ? "eof" : "read";
  } catch (const kj::Exception& e) {
    return e.getDescription().cStr();
  }
}

} // namespace

TEST_CASE("big and small messages round trip; the big one is read into a pooled block") {
  loop_fixture f;
  rpc::message_stream out(*f.pipe.ends[0], f.pool), in(*f.pipe.ends[1], f.pool);
  auto big = piece_message(1024 * 1024, 3);
  auto small = piece_message(100, 5);
  auto writes = out.writeMessage(*big).then([&] { return out.writeMessage(*small); });
  {
    auto r = KJ_ASSERT_NONNULL(in.tryReadMessage(capnp::ReaderOptions()).wait(f.ws));
    auto p = r->getRoot<wire::Piece>();
    CHECK(p.getOffset() == 1024 * 1024);
    CHECK(has_pattern(p.getData(), 3));
    CHECK(f.pool.statistics().live == 1);
    // The received bytes can be shared without a copy.
    auto shared = f.pool.share(p.getData().begin(), p.getData().size());
    CHECK(shared);
  }
  {
    auto r = KJ_ASSERT_NONNULL(in.tryReadMessage(capnp::ReaderOptions()).wait(f.ws));
    CHECK(has_pattern(r->getRoot<wire::Piece>().getData(), 5));
    CHECK(f.pool.statistics().live == 0); // small: not pooled
  }
  writes.wait(f.ws);
  CHECK(f.pool.statistics().idle == 1);
  f.pipe.ends[0]->shutdownWrite();
  CHECK(in.tryReadMessage(capnp::ReaderOptions()).wait(f.ws) == nullptr);
}

TEST_CASE("a message of several segments and external data round trips") {
  loop_fixture f;
  rpc::message_stream out(*f.pipe.ends[0], f.pool), in(*f.pipe.ends[1], f.pool);
  auto blk = f.pool.acquire();
  for (std::size_t i = 0; i < 200000; ++i)
    blk.data()[i] = static_cast<std::uint8_t>(9 + i * 7);
  blk.zero_pad(200000);
  auto bytes = blk.share(0, 200000);
  capnp::MallocMessageBuilder m(16);
  auto p = m.initRoot<wire::Piece>();
  p.adoptData(rpc::reference_bytes(capnp::Orphanage::getForMessageContaining(p), bytes, f.pool));
  CHECK(m.getSegmentsForOutput().size() == 2);
  auto w = out.writeMessage(m);
  auto r = KJ_ASSERT_NONNULL(in.tryReadMessage(capnp::ReaderOptions()).wait(f.ws));
  w.wait(f.ws);
  auto d = r->getRoot<wire::Piece>().getData();
  CHECK(d.size() == 200000);
  CHECK(has_pattern(d, 9));
}

TEST_CASE("unaligned bytes are referenced through an aligned copy") {
  io::buffer_pool pool(2);
  auto blk = pool.acquire();
  std::memcpy(blk.data() + 3, "xyz", 3);
  auto b = blk.share(3, 3);
  capnp::MallocMessageBuilder m;
  auto p = m.initRoot<wire::Piece>();
  p.adoptData(rpc::reference_bytes(capnp::Orphanage::getForMessageContaining(p), b, pool));
  CHECK(reinterpret_cast<std::uintptr_t>(b.data()) % 8 == 0);
  CHECK(std::string(p.asReader().getData().begin(), p.asReader().getData().end()) == "xyz");
}

TEST_CASE("hostile segment tables are refused before any big allocation") {
  SUBCASE("too many segments") {
    loop_fixture f;
    send_raw(f, {0xffffffffu, 1, 0});
    CHECK(read_error(f).find("too many segments") != std::string::npos);
    CHECK(f.pool.statistics().created == 0);
  }
  SUBCASE("segments larger than the limit") {
    loop_fixture f;
    send_raw(f, {1, 0x7fffffffu, 0x7fffffffu, 0});
    CHECK(read_error(f).find("larger than the limit") != std::string::npos);
    CHECK(f.pool.statistics().created == 0);
  }
  SUBCASE("many segments whose sizes add up past the limit") {
    loop_fixture f;
    std::vector<std::uint32_t> table{511};
    for (int i = 0; i < 512; ++i)
      table.push_back(0x10000); // 512 x 512 KiB = 256 MiB
    table.push_back(0);
    send_raw(f, table);
    CHECK(read_error(f).find("larger than the limit") != std::string::npos);
  }
  SUBCASE("an empty message") {
    loop_fixture f;
    send_raw(f, {0, 0});
    CHECK(read_error(f).find("empty") != std::string::npos);
  }
  SUBCASE("truncated in the header") {
    loop_fixture f;
    send_raw(f, {0});
    CHECK(read_error(f).find("truncated") != std::string::npos);
  }
  SUBCASE("truncated in the segment table") {
    loop_fixture f;
    send_raw(f, {3, 10});
    CHECK(read_error(f) != "read");
  }
  SUBCASE("truncated in the body: the pooled block goes back") {
    loop_fixture f;
    send_raw(f, {0, 20000, 1, 2, 3}); // 160 KB announced, 12 bytes sent
    CHECK(read_error(f) != "read");
    CHECK(f.pool.statistics().live == 0);
  }
  SUBCASE("a clean end of stream is not an error") {
    loop_fixture f;
    f.pipe.ends[0]->shutdownWrite();
    CHECK(read_error(f) == "eof");
  }
}

namespace {
class collecting_sink final : public wire::ChunkSink::Server {
public:
  explicit collecting_sink(io::buffer_pool& pool, std::vector<io::buffer>& got)
      : pool_(pool), got_(got) {}
  kj::Promise<void> write(WriteContext ctx) override {
    for (auto p : ctx.getParams().getPieces())
      got_.push_back(pool_.share_or_copy({p.getData().begin(), p.getData().size()}));
    return kj::READY_NOW;
  }
  kj::Promise<void> done(DoneContext) override { return kj::READY_NOW; }

private:
  io::buffer_pool& pool_;
  std::vector<io::buffer>& got_;
};
} // namespace

TEST_CASE("rpc_link: streamed frames reference the sender's blocks, which may go at once") {
  loop_fixture f;
  std::vector<io::buffer> got;
  using Side = capnp::rpc::twoparty::Side;
  rpc::rpc_link server(*f.pipe.ends[1], kj::heap<collecting_sink>(f.pool, got), Side::SERVER,
                       rpc::rpc_link::default_window, f.pool);
  rpc::rpc_link client(*f.pipe.ends[0], capnp::Capability::Client(nullptr), Side::CLIENT,
                       rpc::rpc_link::default_window, f.pool);
  auto sink = client.bootstrap().castAs<wire::ChunkSink>();
  kj::Promise<void> last = kj::READY_NOW;
  for (int frame = 0; frame < 6; ++frame) {
    auto req = sink.writeRequest();
    auto pieces = req.initPieces(1);
    {
      auto blk = f.pool.acquire();
      for (std::size_t i = 0; i < 1024 * 1024; ++i)
        blk.data()[i] = static_cast<std::uint8_t>(frame + i * 7);
      auto bytes = blk.share(0, 1024 * 1024);
      pieces[0].adoptData(rpc::reference_bytes(
          capnp::Orphanage::getForMessageContaining(wire::ChunkSink::WriteParams::Builder(req)),
          bytes, f.pool));
      last = req.send();
      // The sender's references end here, before the message is written.
    }
    // Scribbling over a recycled block must not reach the peer: the link holds the block.
    auto other = f.pool.acquire();
    std::memset(other.data(), 0xee, other.capacity());
  }
  last.wait(f.ws);
  client.bootstrap().castAs<wire::ChunkSink>().doneRequest().send().wait(f.ws);
  REQUIRE(got.size() == 6);
  for (int frame = 0; frame < 6; ++frame) {
    CAPTURE(frame);
    CHECK(got[frame].size() == 1024 * 1024);
    CHECK(has_pattern({got[frame].data(), got[frame].size()}, static_cast<std::uint8_t>(frame)));
  }
  got.clear();
  CHECK(f.pool.statistics().live == 0);
  CHECK(f.pool.statistics().idle <= 4);
}
