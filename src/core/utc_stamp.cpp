#include "core/utc_stamp.hpp"

#include <cstdio>

namespace cascade::core {

namespace {

// Days since 1970-01-01 of a civil date (proleptic Gregorian) and back.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct civil {
  std::int64_t y;
  unsigned m, d;
};

civil civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

bool leap(std::int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned days_in(std::int64_t y, unsigned m) {
  static constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : days[m - 1];
}

std::optional<unsigned> digits(std::string_view s) {
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  return v;
}

} // namespace

std::string utc_stamp(std::int64_t unix_s) {
  constexpr std::int64_t s_per_day = 86'400;
  std::int64_t days = unix_s / s_per_day, sod = unix_s % s_per_day;
  if (sod < 0) {
    sod += s_per_day;
    --days;
  }
  const civil c = civil_from_days(days);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04lld%02u%02u-%02u%02u%02u", static_cast<long long>(c.y), c.m,
                c.d, static_cast<unsigned>(sod / 3600), static_cast<unsigned>(sod / 60 % 60),
                static_cast<unsigned>(sod % 60));
  return buf;
}

std::optional<std::int64_t> parse_utc_stamp(std::string_view s) {
  if (s.size() != 15 || s[8] != '-')
    return std::nullopt;
  auto y = digits(s.substr(0, 4)), mo = digits(s.substr(4, 2)), d = digits(s.substr(6, 2));
  auto h = digits(s.substr(9, 2)), mi = digits(s.substr(11, 2)), se = digits(s.substr(13, 2));
  if (!y || !mo || !d || !h || !mi || !se)
    return std::nullopt;
  if (*mo < 1 || *mo > 12 || *d < 1 || *d > days_in(*y, *mo) || *h > 23 || *mi > 59 || *se > 59)
    return std::nullopt;
  return days_from_civil(*y, *mo, *d) * 86400 + *h * 3600 + *mi * 60 + *se;
}

} // namespace cascade::core
