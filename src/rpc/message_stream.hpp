// The Cap'n Proto transport of a session without per-frame allocation churn (issue 11).
//
// message_stream reads each big message (a chunk frame) into a pooled block (io::frame_pool)
// instead of a fresh heap array, after checking its segment table against hard limits before any
// allocation; small messages go to the heap as before. It writes segments by reference.
//
// rpc_link is the two-party VatNetwork and RpcSystem of one connection (what TwoPartyClient was):
// its outgoing messages keep a reference on every pooled block one of their segments lies in
// (external data, see network::push) from send() until written, and its streams use a fixed
// flow-control window.
#pragma once

#include <capnp/rpc-twoparty.h>
#include <capnp/serialize-async.h>
#include <kj/async-io.h>

#include <cstddef>

#include "io/buffer_pool.hpp"

namespace cascade::rpc {

struct message_limits {
  unsigned max_segments = 512;
  std::size_t max_words = 8 * 1024 * 1024; // 64 MiB, capnp's default traversal limit
  std::size_t pooled_from_bytes = 64 * 1024; // smaller messages go to the heap
};

class message_stream final : public capnp::MessageStream {
public:
  message_stream(kj::AsyncIoStream& stream, io::buffer_pool& pool, message_limits limits = {})
      : stream_(stream), pool_(pool), limits_(limits) {}

  kj::Promise<kj::Maybe<capnp::MessageReaderAndFds>>
  tryReadMessage(kj::ArrayPtr<kj::AutoCloseFd> fdSpace, capnp::ReaderOptions options = {},
                 kj::ArrayPtr<capnp::word> scratchSpace = nullptr) override;
  kj::Promise<void> writeMessage(kj::ArrayPtr<const int> fds,
                                 kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments)
      override;
  kj::Promise<void>
  writeMessages(kj::ArrayPtr<kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>>> messages)
      override;
  kj::Maybe<int> getSendBufferSize() override { return nullptr; }
  kj::Promise<void> end() override;

  using capnp::MessageStream::tryReadMessage;
  using capnp::MessageStream::writeMessage;

private:
  kj::Promise<kj::Maybe<capnp::MessageReaderAndFds>> read_table(std::uint32_t first[2],
                                                                capnp::ReaderOptions options);
  kj::Promise<kj::Maybe<capnp::MessageReaderAndFds>>
  read_body(kj::Array<std::uint32_t> sizes, capnp::ReaderOptions options);

  kj::AsyncIoStream& stream_;
  io::buffer_pool& pool_;
  message_limits limits_;
  std::uint32_t first_[2] = {0, 0};
};

// `bytes` as external data of the message `orphanage` belongs to, without a copy; bytes that are
// not 8-byte aligned are first replaced by a pooled, aligned copy. `bytes` must stay alive until
// the message is sent (rpc_link holds it from there); an empty orphan for no bytes.
capnp::Orphan<capnp::Data> reference_bytes(capnp::Orphanage orphanage, io::buffer& bytes,
                                           io::buffer_pool& pool = io::frame_pool());

class rpc_link final : public capnp::TwoPartyVatNetworkBase,
                       private capnp::TwoPartyVatNetworkBase::Connection {
public:
  static constexpr std::size_t default_window = 1024 * 1024;

  // `bootstrap`: what the peer gets from its bootstrap(); `side`: ours.
  rpc_link(kj::AsyncIoStream& stream, capnp::Capability::Client bootstrap,
           capnp::rpc::twoparty::Side side, std::size_t window = default_window,
           io::buffer_pool& pool = io::frame_pool());
  ~rpc_link() noexcept(false);
  KJ_DISALLOW_COPY(rpc_link);

  // The peer's bootstrap capability.
  capnp::Capability::Client bootstrap();
  // Resolves when the RPC system let go of the connection (the peer disconnected or failed).
  kj::Promise<void> onDisconnect() { return disconnected_.addBranch(); }

  kj::Maybe<kj::Own<capnp::TwoPartyVatNetworkBase::Connection>>
  connect(capnp::rpc::twoparty::VatId::Reader ref) override;
  kj::Promise<kj::Own<capnp::TwoPartyVatNetworkBase::Connection>> accept() override;

private:
  class outgoing;
  class incoming;
  struct disposer final : kj::Disposer {
    mutable kj::Own<kj::PromiseFulfiller<void>> fulfiller;
    mutable unsigned refs = 0;
    void disposeImpl(void*) const override {
      if (--refs == 0)
        fulfiller->fulfill();
    }
  };

  kj::Own<capnp::TwoPartyVatNetworkBase::Connection> as_connection();
  kj::Own<capnp::RpcFlowController> newStream() override;
  capnp::rpc::twoparty::VatId::Reader getPeerVatId() override;
  kj::Own<capnp::OutgoingRpcMessage> newOutgoingMessage(unsigned first_segment_words) override;
  kj::Promise<kj::Maybe<kj::Own<capnp::IncomingRpcMessage>>> receiveIncomingMessage() override;
  kj::Promise<void> shutdown() override;

  message_stream stream_;
  io::buffer_pool& pool_;
  capnp::rpc::twoparty::Side side_;
  std::size_t window_;
  capnp::MallocMessageBuilder peer_vat_id_{4};
  capnp::ReaderOptions options_;
  bool accepted_ = false;
  kj::Maybe<kj::Promise<void>> previous_write_;
  kj::Maybe<kj::Own<kj::PromiseFulfiller<kj::Own<capnp::TwoPartyVatNetworkBase::Connection>>>>
      never_accept_;
  disposer disposer_;
  kj::ForkedPromise<void> disconnected_ = nullptr;
  kj::Own<capnp::RpcSystem<capnp::rpc::twoparty::VatId>> rpc_; // last: destroyed first
};

} // namespace cascade::rpc
