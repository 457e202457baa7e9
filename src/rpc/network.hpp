// The peer network: one KJ thread owns every Cap'n Proto and KJ object (they are thread-affine).
// Other threads talk to it through rpc::transport (transport.hpp), whose calls queue work for
// that thread and never block.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rpc/transport.hpp"

namespace cascade::io {
class folder;
}
namespace cascade::core {
class partial_files;
}

namespace cascade::rpc {

struct network_config {
  std::string listen_addr = "0.0.0.0";
  std::uint16_t port = 0;
  core::device_id self{};                        // the device id of private_key_pem
  std::string private_key_pem;                   // our Ed25519 identity (TLS)
  std::string group_key;                         // proven in every hello, never sent
  std::uint64_t epoch = 0;                       // of our index
  const io::folder* folder = nullptr;            // where fetches are served from
  const core::partial_files* partials = nullptr; // and the verified chunks of partial files
  std::size_t sink_credit = 8;         // frames a receiving sink holds before it stalls the sender
  std::vector<core::device_id> denied; // refused from the start (see deny())
};

class network final : public transport {
public:
  network(network_config cfg, listener& l);
  ~network() override;

  // Binds the listening socket and starts the KJ thread; returns the bound port.
  // Throws std::runtime_error if the address cannot be bound.
  std::uint16_t start();
  // Closes every connection and joins the thread.
  void stop();

  // rpc::transport
  void dial(const std::string& host, std::uint16_t port,
            std::optional<core::device_id> expected = std::nullopt, int delay_ms = 0) override;
  void forget(const std::string& host, std::uint16_t port) override;
  dial_stats dial_statistics() const override;
  void subscribe(session_id s, std::uint64_t epoch, std::uint64_t from) override;
  void send_update(session_id s, std::vector<wire_entry> entries, std::uint64_t from,
                   std::uint64_t last,
                   std::function<void(bool ok, bool need_full)> done) override;
  void complete_update(session_id s, call_id call, bool ok, bool need_full = false) override;
  fetch_id fetch(session_id s, std::string path, std::vector<core::byte_range> ranges,
                 std::shared_ptr<chunk_receiver> receiver,
                 core::version_vector version = {}) override;
  void have(session_id s, std::string path, core::version_vector v, std::size_t chunks,
            std::chrono::milliseconds timeout, std::function<void(have_answer)> done) override;
  void answer_have(session_id s, call_id call, bool complete, std::vector<bool> chunks) override;
  void consumed(fetch_id f, std::size_t frames) override;
  void cancel_fetch(fetch_id f) override;
  void close_session(session_id s, std::string reason) override;
  fetch_id accept_offer(session_id s, call_id call,
                        std::shared_ptr<chunk_receiver> receiver) override;
  void decline_offer(session_id s, call_id call) override;
  push_id offer(session_id s, wire_entry entry, std::vector<core::device_id> rest,
                std::vector<core::device_id> visited,
                std::shared_ptr<push_observer> observer) override;
  void push(push_id p, std::vector<piece> pieces) override;
  void finish_push(push_id p, std::string error, bool drop_queued = false) override;
  void deny(const core::device_id& d) override;
  void snapshot(std::function<void(std::vector<core::peer_status>)> done) override;

  struct impl; // public so the KJ-side servers in network.cpp can name it
  // The KJ side (network_impl.hpp), for tests that run two networks over an in-memory pipe on
  // their own event loop (impl::attach) instead of start().
  impl& kj_side() { return *impl_; }

private:
  std::unique_ptr<impl> impl_;
};

} // namespace cascade::rpc
