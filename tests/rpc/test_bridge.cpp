// The bridge from the actors to the KJ thread (rpc::network's queue): a queued closure that
// throws is logged and dropped, and every closure queued after it still runs. The network runs
// for real (its thread, event loop and TLS context), listening on an ephemeral port; meson runs
// this binary in a network namespace of its own (unshare --net), so nothing can reach it.
#include <doctest/doctest.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <chrono>
#include <future>
#include <stdexcept>
#include <string>

#include "rpc/network.hpp"

using namespace cascade;

namespace {

std::string ed25519_pem() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  REQUIRE(key != nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  REQUIRE(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

struct quiet_listener : rpc::listener {
  void on_session_up(const rpc::session_info&) override {}
  void on_session_down(rpc::session_id, const std::string&) override {}
  void on_subscribe(rpc::session_id, std::uint64_t, std::uint64_t) override {}
  void on_update(rpc::session_id, rpc::call_id, std::vector<rpc::wire_entry>, std::uint64_t,
                 std::uint64_t) override {}
  void on_log(int, const std::string&) override {}
  void on_offer(rpc::session_id, rpc::call_id, rpc::wire_entry, std::vector<core::device_id>,
                std::vector<core::device_id>) override {}
  void on_have(rpc::session_id, rpc::call_id, std::string, core::version_vector) override {}
};

} // namespace

TEST_CASE("the bridge keeps draining after queued closures throw") {
  quiet_listener events;
  rpc::network_config cfg;
  cfg.listen_addr = "0.0.0.0"; // inside the test's own network namespace
  cfg.port = 0;
  cfg.private_key_pem = ed25519_pem();
  rpc::network net(cfg, events);
  REQUIRE(net.start() > 0);
  // snapshot() queues a closure that calls `done` on the network thread: these throw there.
  net.snapshot([](std::vector<core::peer_status>) { throw std::runtime_error("boom"); });
  net.snapshot([](std::vector<core::peer_status>) { throw 42; });
  std::promise<std::size_t> after;
  auto answer = after.get_future();
  net.snapshot([&after](std::vector<core::peer_status> rows) { after.set_value(rows.size()); });
  REQUIRE(answer.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  CHECK(answer.get() == 0); // no peers, no dial targets
  // And later calls still get through, after the thrown ones were dropped.
  std::promise<void> again;
  auto later = again.get_future();
  net.snapshot([&again](std::vector<core::peer_status>) { again.set_value(); });
  CHECK(later.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  net.stop();
}
