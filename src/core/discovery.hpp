// Discovery limits (issue 10): mDNS answers cost nothing to forge, so what a flood of fake
// `_cascade._tcp` services of our group may cost us is capped here. Pure: time is passed in.
//
// - discovery_table: the services we track (and so dial). At most `max_services` in all and
//   `max_per_host` per address. When full, a service from an address with fewer services than
//   the most crowded one takes the place of that address's newest service (fair share), so
//   a flood from a few addresses cannot lock a real peer on another host out; otherwise the
//   new service is ignored and counted (a warning at most once a minute, not per answer).
// - dial_limiter: a token bucket over new connection attempts plus a cap on TCP connects
//   pending at once, shared by every dial target of the node.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/device_id.hpp"

namespace cascade::core {

using steady_time = std::chrono::steady_clock::time_point;

// The numbers (README "Discovery"). A LAN has a handful to a few dozen nodes, and a real
// host runs one (a few behind NAT or in containers): 256 services, 16 per address, leave
// plenty of room and bound memory and dial targets. The budgets below keep what a flood can
// cost at a few dozen SYNs per second and a small, fixed number of sockets.
struct discovery_limits {
  std::size_t max_services = 256;
  std::size_t max_per_host = 16;
  std::chrono::seconds warn_every{60};
};

struct service_endpoint {
  std::string host; // IPv4, dotted
  std::uint16_t port = 0;
  bool operator==(const service_endpoint& o) const { return host == o.host && port == o.port; }
  bool operator!=(const service_endpoint& o) const { return !(*this == o); }
};

class discovery_table {
public:
  explicit discovery_table(discovery_limits limits = {}) : limits_(limits) {}

  enum class verdict { added, moved, same, ignored };
  struct found_result {
    verdict what = verdict::ignored;
    std::vector<service_endpoint> stop; // dial no longer: the old address, an evicted one
    std::optional<std::string> evicted; // the service that made room (fair share)
    bool warn = false;                  // log the ignored services now (rate-limited)
  };
  // An answer for service `name` of our group at `at`.
  found_result found(const std::string& name, const service_endpoint& at, const device_id& device,
                     steady_time now);
  // The service went away: its endpoint, if it was tracked.
  std::optional<service_endpoint> lost(const std::string& name);

  struct entry {
    service_endpoint at;
    device_id device{};
    std::uint64_t order = 0; // admission order: the newest of a host goes first
  };
  const std::map<std::string, entry>& services() const { return services_; }
  std::size_t size() const { return services_.size(); }
  std::size_t hosts() const { return per_host_.size(); }
  std::uint64_t ignored() const { return ignored_; } // answers refused for the caps
  std::uint64_t evicted() const { return evicted_; } // services that made room (fair share)
  std::uint64_t ignored_since_warning() const { return unwarned_; }
  const discovery_limits& limits() const { return limits_; }

private:
  void add(const std::string& name, const service_endpoint& at, const device_id& device);
  void remove(std::map<std::string, entry>::iterator it);
  void check() const; // invariants (debug builds)

  discovery_limits limits_;
  std::map<std::string, entry> services_;
  std::map<std::string, std::size_t> per_host_;
  std::uint64_t next_order_ = 0, ignored_ = 0, evicted_ = 0, unwarned_ = 0;
  std::optional<steady_time> last_warning_;
};

// 20 attempts per second with a burst of 20: a node with a few dozen peers reconnects them all
// within seconds, while a flood of fake services costs at most 20 SYNs per second. 16
// connects pending at once: addresses that black-hole (no answer until the connect timeout)
// hold at most 16 sockets.
struct dial_limits {
  double per_second = 20;
  double burst = 20;
  int max_pending = 16;
};

// The order in which dials waiting for the budget go (smaller first; equal ones first come,
// first served): targets that failed fewer times first, so a peer that just appeared goes
// before addresses that keep failing; then targets whose address has fewer targets, so among
// fresh ones a lone host (a real peer) goes before an address serving a flood.
struct dial_rank {
  int failures = 0;
  std::size_t targets_at_host = 0;
  auto operator<=>(const dial_rank&) const = default;
};

class dial_limiter {
public:
  explicit dial_limiter(dial_limits limits = {}) : limits_(limits), tokens_(limits.burst) {}

  // Starts an attempt if the rate and the pending cap allow it (then call finish() once).
  bool try_start(steady_time now);
  // Starts an attempt whatever the budget says (static --peer targets, never starved); it is
  // counted all the same, so the flood gets less.
  void force_start(steady_time now);
  // The attempt's connect is over (connected, failed or timed out).
  void finish();
  // How long until try_start could succeed on the rate alone (zero: now); a full pending cap
  // frees up through finish().
  std::chrono::nanoseconds wait(steady_time now);
  bool pending_full() const { return pending_ >= limits_.max_pending; }

  int pending() const { return pending_; }
  int peak_pending() const { return peak_pending_; }
  std::uint64_t attempts() const { return attempts_; }
  const dial_limits& limits() const { return limits_; }

private:
  void refill(steady_time now);

  dial_limits limits_;
  double tokens_;
  std::optional<steady_time> last_;
  int pending_ = 0, peak_pending_ = 0;
  std::uint64_t attempts_ = 0;
};

} // namespace cascade::core
