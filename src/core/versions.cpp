#include "core/versions.hpp"

#include <algorithm>
#include <charconv>
#include <tuple>

#include "core/utc_stamp.hpp"

namespace cascade::core {

namespace {

constexpr std::size_t stamp_len = 15; // YYYYMMDD-HHMMSS

// Where the extension of the last component starts (its dot), or npos.
std::size_t extension_at(std::string_view path) {
  auto base = path.rfind('/');
  base = base == std::string_view::npos ? 0 : base + 1;
  auto dot = path.rfind('.');
  if (dot == std::string_view::npos || dot <= base || dot + 1 == path.size())
    return std::string_view::npos;
  return dot;
}

} // namespace

std::string version_name(std::string_view path, std::int64_t unix_s, unsigned n) {
  auto ext = extension_at(path);
  auto stem = path.substr(0, ext);
  auto tail = ext == std::string_view::npos ? std::string_view() : path.substr(ext);
  std::string out(stem);
  out += '~';
  out += utc_stamp(unix_s);
  if (n > 1)
    out += "-" + std::to_string(n);
  out += tail;
  return out;
}

// Every '~' of the last component is a candidate, from the right; the one whose reading makes
// the same name again is the stamp (a name may hold '~' and digits of its own, even a stamp).
std::optional<version_id> parse_version_name(std::string_view name) {
  auto base = name.rfind('/');
  base = base == std::string_view::npos ? 0 : base + 1;
  for (auto t = name.rfind('~'); t != std::string_view::npos && t >= base;
       t = t == 0 ? std::string_view::npos : name.rfind('~', t - 1)) {
    auto time = parse_utc_stamp(name.substr(t + 1, stamp_len));
    if (!time)
      continue;
    auto rest = name.substr(std::min(name.size(), t + 1 + stamp_len));
    unsigned n = 1;
    if (rest.starts_with('-')) { // "-N": which replacement within the second
      auto end = std::min(rest.find('.'), rest.size());
      auto [ptr, ec] = std::from_chars(rest.data() + 1, rest.data() + end, n);
      if (ec != std::errc{} || ptr != rest.data() + end || n < 2)
        continue;
      rest = rest.substr(end);
    }
    version_id id{std::string(name.substr(0, t)) + std::string(rest), *time, n};
    if (id.path.size() > base && version_name(id.path, id.time_s, id.n) == name)
      return id;
  }
  return std::nullopt;
}

std::vector<std::string> versions_to_remove(const std::vector<version_file>& versions,
                                            std::int64_t now_s, const retention& r) {
  std::vector<const version_file*> order;
  for (auto& v : versions)
    order.push_back(&v);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) {
    return std::tie(a->time_s, a->n, a->name) < std::tie(b->time_s, b->n, b->name);
  });
  std::uint64_t total = 0;
  for (auto* v : order)
    total += v->size;
  std::vector<std::string> out;
  for (auto* v : order) {
    bool too_old = r.keep_s > 0 && v->time_s < now_s - r.keep_s;
    bool over_cap = r.cap_bytes > 0 && total > r.cap_bytes;
    if (!too_old && !over_cap)
      break; // the rest are newer, and they fit
    out.push_back(v->name);
    total -= v->size;
  }
  return out;
}

std::optional<version_file> pick_version(const std::vector<version_file>& versions,
                                         std::string_view path,
                                         std::optional<std::int64_t> time_s) {
  std::optional<version_file> best;
  std::optional<version_id> best_id;
  for (auto& v : versions) {
    auto id = parse_version_name(v.name);
    if (!id || id->path != path || (time_s && id->time_s != *time_s))
      continue;
    if (!best_id || std::tie(id->time_s, id->n) > std::tie(best_id->time_s, best_id->n)) {
      best = v;
      best_id = id;
    }
  }
  return best;
}

} // namespace cascade::core
