#include "core/introspection.hpp"

#include "core/rules.hpp"

namespace cascade::core {

std::optional<conflict_info> parse_conflict_name(std::string_view path) {
  constexpr std::string_view marker = ".sync-conflict-";
  constexpr std::size_t tail = 8 + 1 + 6 + 1 + 7; // YYYYMMDD-HHMMSS-DEVICE
  auto slash = path.rfind('/');
  std::size_t base_at = slash == std::string_view::npos ? 0 : slash + 1;
  // The last well-formed marker of the base name: a name may contain the marker's text.
  for (auto at = path.rfind(marker); at != std::string_view::npos && at >= base_at;
       at = at == 0 ? std::string_view::npos : path.rfind(marker, at - 1)) {
    auto end = at + marker.size() + tail;
    if (end > path.size() || (end < path.size() && path[end] != '.') ||
        !is_conflict_name(path.substr(0, end)))
      continue;
    auto rest = path.substr(at + marker.size());
    conflict_info c;
    c.path = std::string(path);
    c.original = std::string(path.substr(0, at)) + std::string(path.substr(end));
    c.time = std::string(rest.substr(0, 15));
    c.device = std::string(rest.substr(16, 7));
    return c;
  }
  return std::nullopt;
}

} // namespace cascade::core
