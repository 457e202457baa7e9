// How long a node makes an address wait before its next TLS handshake after failed ones. A
// hostile or broken host that keeps dialing with a bad key gets 0.2 s, 0.4 s, ... up to 10 s
// before each new attempt; a host whose last failure is over a minute old starts afresh, and one
// that gets in is forgiven. Pure: time is an argument.
//
// Bounded: at most `max_addresses` are remembered. When full, failures over a minute old go
// first, then the address that failed least recently (a flood of addresses forgets its oldest,
// never grows the table).
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>

namespace cascade::core {

class handshake_backoff {
public:
  using time = std::chrono::steady_clock::time_point;
  using duration = std::chrono::milliseconds;

  static constexpr duration forget_after = std::chrono::seconds(60);
  static constexpr duration max_delay = std::chrono::seconds(10);

  explicit handshake_backoff(std::size_t max_addresses = 4096) : max_(max_addresses) {}

  // The wait before a handshake from `address` starts: zero unless it failed within a minute.
  duration delay(const std::string& address, time now) const;
  // A handshake from `address` failed (TLS, its hello, or the time allowed).
  void failed(const std::string& address, time now);
  // A session from `address` came up: it starts afresh.
  void succeeded(const std::string& address) { by_address_.erase(address); }
  void clear() { by_address_.clear(); }
  std::size_t size() const { return by_address_.size(); }

private:
  struct entry {
    int count = 0;
    time last{};
  };
  void make_room(time now);

  std::size_t max_;
  std::map<std::string, entry> by_address_;
};

} // namespace cascade::core
