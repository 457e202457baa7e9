// A stream that counts the bytes passing through it (below TLS: what the wire carries), for
// the console's per-peer statistics. KJ thread only.
#pragma once

#include <kj/async-io.h>

#include <cstdint>
#include <memory>

namespace cascade::rpc {

struct byte_counters {
  std::uint64_t in = 0, out = 0;
};

class counting_stream final : public kj::AsyncIoStream {
public:
  counting_stream(kj::Own<kj::AsyncIoStream> inner, std::shared_ptr<byte_counters> counters)
      : inner_(kj::mv(inner)), counters_(std::move(counters)) {}

  kj::Promise<size_t> tryRead(void* buffer, size_t min_bytes, size_t max_bytes) override {
    return inner_->tryRead(buffer, min_bytes, max_bytes).then([c = counters_](size_t n) {
      c->in += n;
      return n;
    });
  }
  kj::Promise<void> write(const void* buffer, size_t size) override {
    counters_->out += size;
    return inner_->write(buffer, size);
  }
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override {
    for (auto& p : pieces)
      counters_->out += p.size();
    return inner_->write(pieces);
  }
  kj::Promise<void> whenWriteDisconnected() override { return inner_->whenWriteDisconnected(); }
  void shutdownWrite() override { inner_->shutdownWrite(); }
  void abortRead() override { inner_->abortRead(); }
  void getsockopt(int level, int option, void* value, kj::uint* length) override {
    inner_->getsockopt(level, option, value, length);
  }
  void setsockopt(int level, int option, const void* value, kj::uint length) override {
    inner_->setsockopt(level, option, value, length);
  }
  void getsockname(struct sockaddr* addr, kj::uint* length) override {
    inner_->getsockname(addr, length);
  }
  void getpeername(struct sockaddr* addr, kj::uint* length) override {
    inner_->getpeername(addr, length);
  }

private:
  kj::Own<kj::AsyncIoStream> inner_;
  std::shared_ptr<byte_counters> counters_;
};

} // namespace cascade::rpc
