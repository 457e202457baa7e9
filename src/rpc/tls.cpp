#include "rpc/tls.hpp"

#include <kj/debug.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstring>
#include <memory>
#include <stdexcept>

#include "io/buffer_pool.hpp"

namespace cascade::rpc {

namespace {

std::string openssl_error() {
  std::string out;
  while (auto e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty())
      out += "; ";
    out += buf;
  }
  return out.empty() ? std::string("unknown TLS error") : out;
}

struct pkey_free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

pkey_ptr read_key(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  pkey_ptr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key || EVP_PKEY_id(key.get()) != EVP_PKEY_ED25519)
    throw std::runtime_error("the identity is not an Ed25519 private key");
  return key;
}

// Device id: SHA-256 of the raw 32-byte Ed25519 public key.
bool device_of(EVP_PKEY* key, core::device_id& out) {
  if (EVP_PKEY_id(key) != EVP_PKEY_ED25519)
    return false;
  unsigned char raw[32];
  size_t len = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(key, raw, &len) != 1 || len != 32)
    return false;
  unsigned int n = 0;
  return EVP_Digest(raw, len, out.data(), &n, EVP_sha256(), nullptr) == 1 && n == 32;
}

// A self-signed certificate for our key: it only carries the key through the handshake;
// trust comes from the device id and the group proof, not from the signature.
X509* make_certificate(EVP_PKEY* key, const std::string& cn) {
  X509* x = X509_new();
  X509_set_version(x, 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(x), -24 * 3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 20L * 365 * 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, name);
  if (X509_sign(x, key, nullptr) == 0) {
    X509_free(x);
    throw std::runtime_error("cannot sign our certificate: " + openssl_error());
  }
  return x;
}

int accept_any(int, X509_STORE_CTX*) {
  return 1;
} // checked after the handshake instead

} // namespace

std::string generate_private_key() {
  pkey_ptr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key)
    throw std::runtime_error("cannot make a key: " + openssl_error());
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

core::device_id device_of_private_key(const std::string& pem) {
  auto key = read_key(pem);
  core::device_id id{};
  if (!device_of(key.get(), id))
    throw std::runtime_error("cannot derive the device id");
  return id;
}

std::array<std::uint8_t, 32> group_proof(const std::string& group_key, const std::string& role,
                                         const std::array<std::uint8_t, 32>& exporter) {
  std::string msg = "cascade group proof v1\n" + role + "\n";
  msg.append(reinterpret_cast<const char*>(exporter.data()), exporter.size());
  std::array<std::uint8_t, 32> out{};
  unsigned len = 0;
  HMAC(EVP_sha256(), group_key.data(), static_cast<int>(group_key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out.data(), &len);
  return out;
}

tls_context::tls_context(const std::string& private_key_pem) {
  auto key = read_key(private_key_pem);
  if (!device_of(key.get(), self_))
    throw std::runtime_error("cannot derive the device id");
  X509* cert = make_certificate(key.get(), core::format_device_id(self_));
  ctx_ = SSL_CTX_new(TLS_method());
  bool ok = ctx_ && SSL_CTX_set_min_proto_version(ctx_, TLS1_3_VERSION) == 1 &&
            SSL_CTX_set_max_proto_version(ctx_, TLS1_3_VERSION) == 1 &&
            SSL_CTX_use_certificate(ctx_, cert) == 1 &&
            SSL_CTX_use_PrivateKey(ctx_, key.get()) == 1 && SSL_CTX_check_private_key(ctx_) == 1;
  X509_free(cert);
  if (!ok)
    throw std::runtime_error("cannot set up TLS: " + openssl_error());
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, &accept_any);
  SSL_CTX_set_num_tickets(ctx_, 0);
  // AES-128-GCM first: as safe here and the fastest with AES-NI.
  SSL_CTX_set_ciphersuites(ctx_, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                                 "TLS_CHACHA20_POLY1305_SHA256");
  SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_OFF);
}

tls_context::~tls_context() {
  SSL_CTX_free(ctx_);
}

kj::Own<tls_stream> tls_context::wrap(kj::Own<kj::AsyncIoStream> s, bool client) {
  SSL* ssl = SSL_new(ctx_);
  if (!ssl)
    throw std::runtime_error("cannot make a TLS session: " + openssl_error());
  if (client)
    SSL_set_connect_state(ssl);
  else
    SSL_set_accept_state(ssl);
  return kj::heap<tls_stream>(kj::mv(s), ssl);
}

// The BIO under our TLS sessions: reads take records from the stream's inbuf_ (filled by
// fill()), writes append them to pooled blocks that flush() hands to the inner stream.
struct tls_bio {
  static tls_stream& of(BIO* b) { return *static_cast<tls_stream*>(BIO_get_data(b)); }

  static int write(BIO* b, const char* data, size_t len, size_t* written) {
    auto& s = of(b);
    size_t done = 0;
    while (done < len) {
      if (!s.out_)
        s.out_ = io::frame_pool().acquire();
      if (s.out_len_ == s.out_.capacity()) {
        s.send_block();
        continue;
      }
      auto n = std::min(len - done, s.out_.capacity() - s.out_len_);
      std::memcpy(s.out_.data() + s.out_len_, data + done, n);
      s.out_len_ += n;
      done += n;
    }
    *written = len;
    return 1;
  }

  static int read(BIO* b, char* out, size_t len, size_t* got) {
    auto& s = of(b);
    BIO_clear_retry_flags(b);
    if (s.in_pos_ == s.in_end_) {
      BIO_set_retry_read(b); // fill() gets more
      *got = 0;
      return 0;
    }
    auto n = std::min(len, s.in_end_ - s.in_pos_);
    std::memcpy(out, s.inbuf_.data() + s.in_pos_, n);
    s.in_pos_ += n;
    *got = n;
    return 1;
  }

  static long ctrl(BIO* b, int cmd, long, void*) {
    switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_PENDING:
      return static_cast<long>(of(b).in_end_ - of(b).in_pos_);
    case BIO_CTRL_WPENDING:
      return static_cast<long>(of(b).out_len_);
    default:
      return 0;
    }
  }

  static int create(BIO* b) {
    BIO_set_init(b, 1);
    return 1;
  }

  static const BIO_METHOD* method() {
    static BIO_METHOD* m = [] {
      auto* x = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "cascade-tls");
      BIO_meth_set_write_ex(x, &write);
      BIO_meth_set_read_ex(x, &read);
      BIO_meth_set_ctrl(x, &ctrl);
      BIO_meth_set_create(x, &create);
      return x;
    }();
    return m;
  }

  static BIO* make(tls_stream& s) {
    BIO* b = BIO_new(method());
    if (b == nullptr)
      throw std::runtime_error("cannot make a TLS BIO: " + openssl_error());
    BIO_set_data(b, &s);
    return b;
  }
};

tls_stream::tls_stream(kj::Own<kj::AsyncIoStream> inner, SSL* ssl)
    : inner_(kj::mv(inner)), ssl_(ssl), rbio_(tls_bio::make(*this)), wbio_(tls_bio::make(*this)),
      write_tail_(kj::Promise<void>(kj::READY_NOW).fork()) {
  SSL_set_bio(ssl_, rbio_, wbio_); // ssl_ owns both BIOs now
}

void tls_stream::send_block() {
  if (out_len_ == 0)
    return;
  auto next = write_tail_.addBranch().then(
      [this, block = kj::mv(out_), n = out_len_]() mutable {
        auto p = inner_->write(block.data(), n);
        return p.attach(kj::mv(block));
      });
  write_tail_ = next.fork();
  out_ = {};
  out_len_ = 0;
}

tls_stream::~tls_stream() noexcept(false) {
  SSL_free(ssl_);
}

kj::Promise<void> tls_stream::flush() {
  // The records go out of pooled blocks: a fresh 1 MiB array per frame would be mapped and
  // faulted in anew each time.
  send_block();
  return write_tail_.addBranch();
}

kj::Promise<size_t> tls_stream::fill() {
  // Only called once OpenSSL has taken every byte read before (it wants more).
  in_pos_ = in_end_ = 0;
  return inner_->tryRead(inbuf_.data(), 1, inbuf_.size()).then([this](size_t n) {
    in_end_ = n;
    return n;
  });
}

kj::Promise<void> tls_stream::handshake() {
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    X509* cert = SSL_get1_peer_certificate(ssl_);
    bool ok = cert && device_of(X509_get0_pubkey(cert), peer_);
    X509_free(cert);
    if (!ok)
      return KJ_EXCEPTION(FAILED, "peer presented no Ed25519 certificate");
    return flush();
  }
  int e = SSL_get_error(ssl_, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    return flush().then([this]() { return fill(); }).then([this](size_t n) -> kj::Promise<void> {
      if (n == 0)
        return KJ_EXCEPTION(DISCONNECTED, "connection closed during the TLS handshake");
      return handshake();
    });
  }
  return KJ_EXCEPTION(FAILED, kj::str("TLS handshake failed: ", openssl_error().c_str()));
}

std::array<std::uint8_t, 32> tls_stream::exporter(const std::string& label) const {
  std::array<std::uint8_t, 32> out{};
  SSL_export_keying_material(ssl_, out.data(), out.size(), label.data(), label.size(), nullptr, 0,
                             0);
  return out;
}

kj::Promise<size_t> tls_stream::tryRead(void* buffer, size_t min_bytes, size_t max_bytes) {
  return read_loop(static_cast<kj::byte*>(buffer), min_bytes, max_bytes, 0);
}

kj::Promise<size_t> tls_stream::read_loop(kj::byte* buf, size_t min, size_t max, size_t got) {
  while (got < min || got == 0) {
    size_t n = 0;
    ERR_clear_error();
    int r = SSL_read_ex(ssl_, buf + got, max - got, &n);
    if (r == 1) {
      got += n;
      continue;
    }
    int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_ZERO_RETURN)
      return got; // the peer closed the TLS session
    if (e != SSL_ERROR_WANT_READ)
      return KJ_EXCEPTION(DISCONNECTED, kj::str("TLS read failed: ", openssl_error().c_str()));
    if (got >= min && got > 0)
      break;
    // Reading may have produced records to send (alerts): queued, not awaited, so a long
    // write in progress never blocks this read.
    if (out_len_ > 0)
      (void)flush();
    return fill().then([this, buf, min, max, got](size_t k) -> kj::Promise<size_t> {
      if (k == 0)
        return got; // EOF below TLS
      return read_loop(buf, min, max, got);
    });
  }
  return got;
}

bool tls_stream::encrypt(const kj::byte* p, size_t size) {
  while (size > 0) {
    size_t n = 0;
    ERR_clear_error();
    if (SSL_write_ex(ssl_, p, size, &n) != 1)
      return false;
    p += n;
    size -= n;
  }
  return true;
}

kj::Promise<void> tls_stream::write(const void* buffer, size_t size) {
  if (!encrypt(static_cast<const kj::byte*>(buffer), size))
    return KJ_EXCEPTION(DISCONNECTED, kj::str("TLS write failed: ", openssl_error().c_str()));
  return flush();
}

kj::Promise<void> tls_stream::write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) {
  for (auto& piece : pieces)
    if (!encrypt(piece.begin(), piece.size()))
      return KJ_EXCEPTION(DISCONNECTED, kj::str("TLS write failed: ", openssl_error().c_str()));
  return flush();
}

void tls_stream::shutdownWrite() {
  SSL_shutdown(ssl_);
  auto done = flush().then([this]() { inner_->shutdownWrite(); });
  write_tail_ = done.fork();
}

} // namespace cascade::rpc
