#include "core/version_vector.hpp"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <limits>

namespace cascade::core {
namespace {

bool by_device(const version_vector::entry& a, const version_vector::entry& b) {
  return a.first < b.first;
}

// Parses exactly 16 hex digits (either case) into a short id.
std::optional<short_id> parse_hex16(std::string_view s) {
  if (s.size() != 16)
    return std::nullopt;
  short_id v = 0;
  for (const char c : s) {
    int d = 0;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return std::nullopt;
    v = (v << 4) | static_cast<short_id>(d);
  }
  return v;
}

// Parses a canonical positive decimal counter: digits only, no leading zero, no overflow.
std::optional<std::uint64_t> parse_counter(std::string_view s) {
  if (s.empty() || s.front() == '0')
    return std::nullopt; // "0" is a zero counter; "01" is not canonical
  std::uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 10);
  if (ec != std::errc{} || ptr != s.data() + s.size())
    return std::nullopt;
  return v;
}

} // namespace

version_vector::version_vector(std::vector<entry> entries) : entries_(std::move(entries)) {
  std::erase_if(entries_, [](const entry& e) { return e.second == 0; });
  std::sort(entries_.begin(), entries_.end());
  // A device listed twice keeps its highest counter, as merge() would.
  std::vector<entry> unique;
  unique.reserve(entries_.size());
  for (const entry& e : entries_) {
    if (!unique.empty() && unique.back().first == e.first)
      unique.back().second = std::max(unique.back().second, e.second);
    else
      unique.push_back(e);
  }
  entries_ = std::move(unique);
}

void version_vector::bump(short_id who) {
  std::uint64_t top = 0;
  for (const entry& e : entries_)
    top = std::max(top, e.second);
  assert(top < std::numeric_limits<std::uint64_t>::max());
  const entry wanted{who, top + 1};
  auto it = std::lower_bound(entries_.begin(), entries_.end(), wanted, by_device);
  if (it != entries_.end() && it->first == who)
    it->second = top + 1;
  else
    entries_.insert(it, wanted);
}

void version_vector::merge(const version_vector& other) {
  std::vector<entry> out;
  out.reserve(entries_.size() + other.entries_.size());
  auto a = entries_.begin();
  auto b = other.entries_.begin();
  while (a != entries_.end() || b != other.entries_.end()) {
    if (b == other.entries_.end() || (a != entries_.end() && a->first < b->first)) {
      out.push_back(*a++);
    } else if (a == entries_.end() || b->first < a->first) {
      out.push_back(*b++);
    } else {
      out.emplace_back(a->first, std::max(a->second, b->second));
      ++a;
      ++b;
    }
  }
  entries_ = std::move(out);
}

std::uint64_t version_vector::counter(short_id who) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), entry{who, 0}, by_device);
  return it != entries_.end() && it->first == who ? it->second : 0;
}

std::string version_vector::encode() const {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(entries_.size() * 24);
  for (const entry& e : entries_) {
    if (!out.empty())
      out += ',';
    for (int shift = 60; shift >= 0; shift -= 4)
      out += hex[(e.first >> shift) & 0xf];
    out += ':';
    out += std::to_string(e.second);
  }
  return out;
}

std::optional<version_vector> version_vector::decode(std::string_view text) {
  std::vector<entry> entries;
  if (text.empty())
    return version_vector{}; // the empty vector encodes as ""
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    const std::size_t end = comma == std::string_view::npos ? text.size() : comma;
    const std::string_view item = text.substr(start, end - start);
    const std::size_t colon = item.find(':');
    if (colon == std::string_view::npos)
      return std::nullopt;
    const auto id = parse_hex16(item.substr(0, colon));
    const auto count = parse_counter(item.substr(colon + 1));
    if (!id || !count)
      return std::nullopt;
    entries.emplace_back(*id, *count);
    if (comma == std::string_view::npos)
      break;
    start = comma + 1;
  }
  // Any order is accepted, but a device may appear only once: a duplicate means corruption.
  std::sort(entries.begin(), entries.end());
  for (std::size_t i = 1; i < entries.size(); ++i)
    if (entries[i].first == entries[i - 1].first)
      return std::nullopt;
  return version_vector{std::move(entries)};
}

ordering compare(const version_vector& a, const version_vector& b) {
  bool a_more = false; // a has a counter above b's somewhere
  bool b_more = false;
  auto x = a.entries().begin(), xe = a.entries().end();
  auto y = b.entries().begin(), ye = b.entries().end();
  while (x != xe || y != ye) {
    if (y == ye || (x != xe && x->first < y->first)) {
      a_more = true; // b's counter for this device is 0
      ++x;
    } else if (x == xe || y->first < x->first) {
      b_more = true;
      ++y;
    } else {
      a_more |= x->second > y->second;
      b_more |= y->second > x->second;
      ++x;
      ++y;
    }
    if (a_more && b_more)
      return ordering::concurrent;
  }
  if (a_more)
    return ordering::greater;
  return b_more ? ordering::lesser : ordering::equal;
}

} // namespace cascade::core
