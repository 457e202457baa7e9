#pragma once
// "YYYYMMDD-HHMMSS" in UTC, as conflict copies and versions carry it. Pure integer arithmetic
// (Howard Hinnant's civil-date algorithms), so the name is the same on every node whatever its
// time zone or libc, and no shared gmtime buffer is involved.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cascade::core {

// The stamp of `unix_s` (seconds since the epoch; before 1970 too).
std::string utc_stamp(std::int64_t unix_s);
// The reverse; nullopt unless exactly that form with a valid date and time.
std::optional<std::int64_t> parse_utc_stamp(std::string_view stamp);

} // namespace cascade::core
