#include "rpc/message_stream.hpp"

#include <kj/debug.h>

#include <cstring>

namespace cascade::rpc {

using capnp::word;
using VatId = capnp::rpc::twoparty::VatId;
using Side = capnp::rpc::twoparty::Side;
using maybe_message = kj::Maybe<capnp::MessageReaderAndFds>;

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the segment table is read in place");

// --- message_stream -------------------------------------------------------------------------

kj::Promise<maybe_message> message_stream::tryReadMessage(kj::ArrayPtr<kj::AutoCloseFd>,
                                                          capnp::ReaderOptions options,
                                                          kj::ArrayPtr<word>) {
  return stream_.tryRead(first_, sizeof first_, sizeof first_)
      .then([this, options](std::size_t n) -> kj::Promise<maybe_message> {
        if (n == 0)
          return maybe_message(nullptr); // clean end of stream
        if (n < sizeof first_)
          return KJ_EXCEPTION(DISCONNECTED, "truncated message: end of stream in its header");
        return read_table(first_, options);
      });
}

kj::Promise<maybe_message> message_stream::read_table(std::uint32_t first[2],
                                                      capnp::ReaderOptions options) {
  // The table: (segment count - 1), then each segment's size in words, padded to a word.
  const std::uint64_t count = std::uint64_t{first[0]} + 1;
  if (count > limits_.max_segments)
    return KJ_EXCEPTION(FAILED, "message refused: too many segments", count);
  auto sizes = kj::heapArray<std::uint32_t>(static_cast<std::size_t>(count));
  sizes[0] = first[1];
  if (count == 1)
    return read_body(kj::mv(sizes), options);
  const std::size_t rest = ((4 + 4 * count + 7) / 8 * 8) - 8; // table bytes after the first word
  auto table = kj::heapArray<std::uint32_t>(rest / 4);
  auto promise = stream_.read(table.begin(), rest);
  return promise.then([this, options, sizes = kj::mv(sizes), table = kj::mv(table)]() mutable {
    for (std::size_t i = 1; i < sizes.size(); ++i)
      sizes[i] = table[i - 1];
    return read_body(kj::mv(sizes), options);
  });
}

kj::Promise<maybe_message> message_stream::read_body(kj::Array<std::uint32_t> sizes,
                                                     capnp::ReaderOptions options) {
  std::uint64_t words = 0;
  for (auto s : sizes)
    words += s;
  const std::uint64_t limit =
      std::min<std::uint64_t>(limits_.max_words, options.traversalLimitInWords);
  if (words == 0)
    return KJ_EXCEPTION(FAILED, "message refused: empty");
  if (words > limit)
    return KJ_EXCEPTION(FAILED, "message refused: larger than the limit", words, limit);
  // Only now, with every size checked, the space for it.
  const std::size_t bytes = static_cast<std::size_t>(words) * sizeof(word);
  io::block_ref block;
  kj::Array<word> heap;
  word* base = nullptr;
  if (bytes >= limits_.pooled_from_bytes && bytes <= pool_.block_size()) {
    block = pool_.acquire(bytes);
    base = reinterpret_cast<word*>(block.data());
  } else {
    heap = kj::heapArray<word>(static_cast<std::size_t>(words));
    base = heap.begin();
  }
  auto promise = stream_.read(base, bytes);
  return promise.then([base, options, sizes = kj::mv(sizes), block = kj::mv(block),
                       heap = kj::mv(heap)]() mutable -> maybe_message {
    auto segments = kj::heapArray<kj::ArrayPtr<const word>>(sizes.size());
    const word* at = base;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      segments[i] = kj::arrayPtr(at, sizes[i]);
      at += sizes[i];
    }
    kj::Own<capnp::MessageReader> reader =
        kj::heap<capnp::SegmentArrayMessageReader>(segments.asPtr(), options)
            .attach(kj::mv(segments), kj::heap<io::block_ref>(kj::mv(block)), kj::mv(heap));
    return capnp::MessageReaderAndFds{kj::mv(reader), nullptr};
  });
}

kj::Promise<void>
message_stream::writeMessage(kj::ArrayPtr<const int>,
                             kj::ArrayPtr<const kj::ArrayPtr<const word>> segments) {
  // By reference: capnp::writeMessage writes the table and then the segments in place.
  return capnp::writeMessage(static_cast<kj::AsyncOutputStream&>(stream_), segments);
}

kj::Promise<void> message_stream::writeMessages(
    kj::ArrayPtr<kj::ArrayPtr<const kj::ArrayPtr<const word>>> messages) {
  return capnp::writeMessages(static_cast<kj::AsyncOutputStream&>(stream_), messages);
}

kj::Promise<void> message_stream::end() {
  stream_.shutdownWrite();
  return kj::READY_NOW;
}

capnp::Orphan<capnp::Data> reference_bytes(capnp::Orphanage orphanage, io::buffer& bytes,
                                           io::buffer_pool& pool) {
  if (bytes.empty())
    return orphanage.newOrphan<capnp::Data>(0);
  if (reinterpret_cast<std::uintptr_t>(bytes.data()) % sizeof(word) != 0)
    bytes = pool.copy(bytes.span());
  return orphanage.referenceExternalData(capnp::Data::Reader(bytes.data(), bytes.size()));
}

// --- rpc_link -------------------------------------------------------------------------------

class rpc_link::outgoing final : public capnp::OutgoingRpcMessage, public kj::Refcounted {
public:
  outgoing(rpc_link& link, unsigned words)
      : link_(link), message_(words == 0 ? capnp::SUGGESTED_FIRST_SEGMENT_WORDS : words) {}

  capnp::AnyPointer::Builder getBody() override { return message_.getRoot<capnp::AnyPointer>(); }

  void send() override {
    auto segments = message_.getSegmentsForOutput();
    std::size_t words = 0;
    for (auto& s : segments)
      words += s.size();
    KJ_REQUIRE(words < link_.options_.traversalLimitInWords,
               "message larger than the peer accepts: not sent", words) {
      return;
    }
    // Segments after the first may be external data in pooled blocks (network::push): held
    // from here until written, whatever the sender does with its buffers meanwhile.
    for (std::size_t i = 1; i < segments.size(); ++i)
      if (segments[i].size() > 0)
        if (auto b = link_.pool_.share(segments[i].begin(), 1))
          pinned_.push_back(std::move(b));
    auto& previous = KJ_ASSERT_NONNULL(link_.previous_write_, "connection shut down");
    link_.previous_write_ =
        previous
            .then([this]() {
              return link_.stream_.writeMessage(nullptr, message_.getSegmentsForOutput());
            })
            .attach(kj::addRef(*this))
            .eagerlyEvaluate(nullptr); // after attach: the message goes once written
  }

  size_t sizeInWords() override { return message_.sizeInWords(); }

private:
  rpc_link& link_;
  capnp::MallocMessageBuilder message_;
  std::vector<io::buffer> pinned_;
};

class rpc_link::incoming final : public capnp::IncomingRpcMessage {
public:
  explicit incoming(kj::Own<capnp::MessageReader> reader) : reader_(kj::mv(reader)) {}
  capnp::AnyPointer::Reader getBody() override { return reader_->getRoot<capnp::AnyPointer>(); }
  size_t sizeInWords() override { return reader_->sizeInWords(); }

private:
  kj::Own<capnp::MessageReader> reader_;
};

rpc_link::rpc_link(kj::AsyncIoStream& stream, capnp::Capability::Client bootstrap, Side side,
                   std::size_t window, io::buffer_pool& pool)
    : stream_(stream, pool), pool_(pool), side_(side), window_(window),
      previous_write_(kj::Promise<void>(kj::READY_NOW)) {
  peer_vat_id_.initRoot<VatId>().setSide(side == Side::CLIENT ? Side::SERVER : Side::CLIENT);
  auto paf = kj::newPromiseAndFulfiller<void>();
  disconnected_ = paf.promise.fork();
  disposer_.fulfiller = kj::mv(paf.fulfiller);
  rpc_ = kj::heap<capnp::RpcSystem<VatId>>(*this, kj::mv(bootstrap));
}

rpc_link::~rpc_link() noexcept(false) {
  rpc_ = nullptr; // before the connection state it refers to
}

capnp::Capability::Client rpc_link::bootstrap() {
  capnp::MallocMessageBuilder message(4);
  auto id = message.getRoot<VatId>();
  id.setSide(side_ == Side::CLIENT ? Side::SERVER : Side::CLIENT);
  return rpc_->bootstrap(id);
}

kj::Own<capnp::TwoPartyVatNetworkBase::Connection> rpc_link::as_connection() {
  ++disposer_.refs;
  return kj::Own<capnp::TwoPartyVatNetworkBase::Connection>(this, disposer_);
}

kj::Maybe<kj::Own<capnp::TwoPartyVatNetworkBase::Connection>>
rpc_link::connect(VatId::Reader ref) {
  if (ref.getSide() == side_)
    return nullptr; // ourselves
  return as_connection();
}

kj::Promise<kj::Own<capnp::TwoPartyVatNetworkBase::Connection>> rpc_link::accept() {
  if (side_ == Side::SERVER && !accepted_) {
    accepted_ = true;
    return as_connection();
  }
  // There is only one connection: a second accept never completes.
  auto paf = kj::newPromiseAndFulfiller<kj::Own<capnp::TwoPartyVatNetworkBase::Connection>>();
  never_accept_ = kj::mv(paf.fulfiller);
  return kj::mv(paf.promise);
}

kj::Own<capnp::RpcFlowController> rpc_link::newStream() {
  return capnp::RpcFlowController::newFixedWindowController(window_);
}

VatId::Reader rpc_link::getPeerVatId() {
  return peer_vat_id_.getRoot<VatId>();
}

kj::Own<capnp::OutgoingRpcMessage> rpc_link::newOutgoingMessage(unsigned first_segment_words) {
  return kj::refcounted<outgoing>(*this, first_segment_words);
}

kj::Promise<kj::Maybe<kj::Own<capnp::IncomingRpcMessage>>> rpc_link::receiveIncomingMessage() {
  return kj::evalLater([this]() {
    return stream_.tryReadMessage(nullptr, options_)
        .then([](maybe_message&& m) -> kj::Maybe<kj::Own<capnp::IncomingRpcMessage>> {
          KJ_IF_MAYBE (r, m) {
            return kj::Own<capnp::IncomingRpcMessage>(kj::heap<incoming>(kj::mv(r->reader)));
          }
          return nullptr;
        });
  });
}

kj::Promise<void> rpc_link::shutdown() {
  auto& previous = KJ_ASSERT_NONNULL(previous_write_, "already shut down");
  auto result = previous.then([this]() { return stream_.end(); });
  previous_write_ = nullptr;
  return result;
}

} // namespace cascade::rpc
