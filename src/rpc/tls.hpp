// TLS 1.3 through OpenSSL behind a KJ stream (memory BIOs; no hand-made cryptography).
// Each device presents a self-signed certificate of its Ed25519 key; its device id is the
// SHA-256 of that public key, so a peer's id is proven by the handshake itself. Membership of
// the group is proven on top, inside the channel, by an HMAC of the group key over a TLS
// exporter value: bound to this session, it cannot be replayed or relayed by a man in the
// middle who lacks the key.
#pragma once

#include <kj/async-io.h>

#include <array>
#include <string>

#include "core/device_id.hpp"
#include "io/buffer_pool.hpp"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct bio_st BIO;

namespace cascade::rpc {

class tls_stream final : public kj::AsyncIoStream {
public:
  tls_stream(kj::Own<kj::AsyncIoStream> inner, SSL* ssl);
  ~tls_stream() noexcept(false);

  // Runs the handshake; rejects with the reason if it fails.
  kj::Promise<void> handshake();
  // The peer's device id (from its certificate's Ed25519 key); valid after the handshake.
  const core::device_id& peer_device() const { return peer_; }
  // 32 bytes both ends derive from this session's secrets (RFC 8446 exporter).
  std::array<std::uint8_t, 32> exporter(const std::string& label) const;

  kj::Promise<size_t> tryRead(void* buffer, size_t min_bytes, size_t max_bytes) override;
  kj::Promise<void> write(const void* buffer, size_t size) override;
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override;
  kj::Promise<void> whenWriteDisconnected() override { return inner_->whenWriteDisconnected(); }
  void shutdownWrite() override;
  void abortRead() override { inner_->abortRead(); }
  void getsockname(struct sockaddr* addr, kj::uint* length) override {
    inner_->getsockname(addr, length);
  }
  void getpeername(struct sockaddr* addr, kj::uint* length) override {
    inner_->getpeername(addr, length);
  }

private:
  friend struct tls_bio; // OpenSSL's side of our buffers (tls.cpp)
  kj::Promise<void> flush();
  void send_block(); // the records in out_ go to `inner_` after those before
  kj::Promise<size_t> fill();
  bool encrypt(const kj::byte* p, size_t size); // into the outgoing BIO
  kj::Promise<size_t> read_loop(kj::byte* buf, size_t min, size_t max, size_t got);

  kj::Own<kj::AsyncIoStream> inner_;
  SSL* ssl_;
  BIO* rbio_;
  BIO* wbio_;
  kj::ForkedPromise<void> write_tail_;
  // Records are read from inbuf_ and written into pooled blocks by OpenSSL directly (a BIO of
  // ours, not a memory BIO in between: one copy less each way).
  std::array<kj::byte, 256 * 1024> inbuf_{};
  std::size_t in_pos_ = 0, in_end_ = 0; // unread records in inbuf_
  io::block_ref out_;                   // records not yet handed to `inner_`
  std::size_t out_len_ = 0;
  core::device_id peer_{};
};

// Our TLS configuration: TLS 1.3 only, mutual certificates, no session tickets.
class tls_context {
public:
  // `private_key_pem`: our Ed25519 key (PKCS#8 PEM). Throws std::runtime_error.
  explicit tls_context(const std::string& private_key_pem);
  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;

  const core::device_id& self() const { return self_; }
  kj::Own<tls_stream> wrap(kj::Own<kj::AsyncIoStream> s, bool client);

private:
  SSL_CTX* ctx_ = nullptr;
  core::device_id self_{};
};

// A new Ed25519 key as PKCS#8 PEM.
std::string generate_private_key();
// The device id of a private key's public half. Throws std::runtime_error on a bad key.
core::device_id device_of_private_key(const std::string& private_key_pem);

// HMAC-SHA256 of the group key over a role label and a session's exporter value.
std::array<std::uint8_t, 32> group_proof(const std::string& group_key, const std::string& role,
                                         const std::array<std::uint8_t, 32>& exporter);

} // namespace cascade::rpc
