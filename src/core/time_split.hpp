#pragma once
// Nanoseconds since the epoch split into whole seconds and a fraction, floored: the fraction is
// always in [0, 1e9), also before 1970 (a truncating split gives a negative tv_nsec there, which
// utimensat refuses with EINVAL). The one conversion every timespec in the node comes from.
#include <cstdint>

namespace cascade::core {

struct split_time {
  std::int64_t sec;
  std::int64_t nsec;
};

constexpr split_time split_ns(std::int64_t ns) {
  constexpr std::int64_t per_s = 1'000'000'000;
  std::int64_t sec = ns / per_s;
  std::int64_t rem = ns % per_s;
  if (rem < 0) {
    rem += per_s;
    --sec;
  }
  return {sec, rem};
}

} // namespace cascade::core
