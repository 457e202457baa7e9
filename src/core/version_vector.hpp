// Version vectors: who changed a file how many times. Local change: bump our counter. A received
// change is stored as it came, never bumped, so nothing echoes back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cascade::core {

using short_id = std::uint64_t; // the first 8 bytes of a device id

enum class ordering { equal, greater, lesser, concurrent };

class version_vector {
public:
  using entry = std::pair<short_id, std::uint64_t>; // (device, counter), counter > 0

  version_vector() = default;
  explicit version_vector(std::vector<entry> entries); // any order; zero counters dropped

  // Increments `who`'s counter, setting it to max(own counter, every counter) + 1 so that the
  // result is greater than anything this node has seen.
  void bump(short_id who);

  // Element-wise maximum.
  void merge(const version_vector& other);

  std::uint64_t counter(short_id who) const;
  bool empty() const { return entries_.empty(); }
  const std::vector<entry>& entries() const { return entries_; } // sorted by device

  // Compact text form "id:counter,id:counter" (hex ids), for the database and logs.
  std::string encode() const;
  static std::optional<version_vector> decode(std::string_view text);

  friend bool operator==(const version_vector&, const version_vector&) = default;

private:
  std::vector<entry> entries_; // sorted by device id, counters > 0
};

// a compared to b: greater means a has seen everything b has and more.
ordering compare(const version_vector& a, const version_vector& b);

} // namespace cascade::core
