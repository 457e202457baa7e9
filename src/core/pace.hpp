// Pacing one downstream of the push cascade (DESIGN.md §4, "a slow child slows only its own
// subtree"). A relay forwards every verified frame to its downstream; this decides, from bytes
// in and bytes taken over time, when the relay should stop taking input (hold its upstream's
// credit, so a downstream that is nearly as fast keeps the whole chain in lockstep instead of
// being dropped) and when the downstream is so much slower than the input that it goes to
// repair (it pulls from the index instead, and stops holding anyone back). A rate over a window,
// not a frame count: a downstream that is still setting up its stream is not dropped for the
// burst that arrived meanwhile. Pure: the caller passes the time.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>

namespace cascade::core {

struct pace_limits {
  std::uint64_t hold_lag = 24u << 20;    // behind by more: take no more input for now
  std::uint64_t drop_min_lag = 4u << 20; // behind by less: never handed to repair
  std::uint64_t cap_lag = 64u << 20;     // behind by more: handed to repair at once
  std::int64_t window_ns = 1'500'000'000;
  double min_share = 0.4; // of the input's rate the downstream must keep over the window
  // Owed bytes and took none for this long: stalled, however small its lag (a relay's
  // downstream that stopped reading a few MiB short of the end, which the rules above never
  // judge, would keep the relay's transfer actor, its thread and its slot, for good).
  std::int64_t stall_ns = 30'000'000'000;
};

enum class pace_verdict {
  keep,
  slow,  // far behind, and over a full window took at less than min_share of the input's
         // rate (or, stalled or crawling, less than min_share of a quarter of what it owes)
  capped, // fell behind by more than cap_lag
  stalled // owed bytes and took none for stall_ns
};

class downstream_pace {
public:
  explicit downstream_pace(pace_limits limits = {}) : limits_(limits) {}

  // `bytes` handed to the downstream (queued or sent) at `now_ns`; times never go backwards.
  void input(std::uint64_t bytes, std::int64_t now_ns);
  // The downstream took `bytes` at `now_ns`.
  void taken(std::uint64_t bytes, std::int64_t now_ns);

  std::uint64_t lag() const { return in_ - std::min(taken_, in_); }
  // The relay should not take more input until the downstream catches up.
  bool hold() const { return lag() > limits_.hold_lag; }
  // Whether the downstream keeps its place, judged at `now_ns`.
  pace_verdict check(std::int64_t now_ns);
  // Only the stall rule (part of check()).
  bool stalled(std::int64_t now_ns) const {
    return lag() > 0 && now_ns - owed_since_ >= limits_.stall_ns;
  }

  std::uint64_t input_bytes() const { return in_; }
  std::uint64_t taken_bytes() const { return taken_; }
  const pace_limits& limits() const { return limits_; }

private:
  struct sample {
    std::int64_t at;
    std::uint64_t in, taken;
  };
  void record(std::int64_t now_ns);

  pace_limits limits_;
  std::uint64_t in_ = 0, taken_ = 0;
  std::int64_t last_input_ = 0; // when input last came
  std::int64_t owed_since_ = 0; // when it last took bytes, or began to owe them
  // Running totals, oldest first, at least 1/16 window apart (so at most about 17 of them
  // reach back one window; older ones are dropped once a newer one covers the window).
  std::deque<sample> samples_;
};

} // namespace cascade::core
