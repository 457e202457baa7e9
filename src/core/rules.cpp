#include "core/rules.hpp"

#include <cstdio>

#include "core/device_id.hpp"
#include "core/path.hpp"
#include "core/time_split.hpp"
#include "core/utc_stamp.hpp"

namespace cascade::core {
namespace {

constexpr std::string_view conflict_marker = ".sync-conflict-";
constexpr std::size_t device_chars = 7;
constexpr std::size_t max_component = 255;

// True if a concurrent pair differs only in metadata, so no bytes can be lost by keeping just one:
// two directories (their contents are records of their own), two symlinks to the same target,
// two files with the same bytes, or two deletions. A conflict copy would only be noise.
bool equivalent(const file_record& a, const file_record& b) {
  if (a.deleted || b.deleted)
    return a.deleted && b.deleted;
  if (a.type != b.type)
    return false;
  switch (a.type) {
  case file_type::dir:
    return true;
  case file_type::symlink:
    return a.symlink_target == b.symlink_target;
  case file_type::file:
    return a.size == b.size && a.chunks == b.chunks;
  }
  return same_content(a, b);
}

// The longest prefix of `s` of at most `n` bytes that does not split a UTF-8 sequence.
std::string_view utf8_prefix(std::string_view s, std::size_t n) {
  if (s.size() <= n)
    return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80)
    --n;
  return s.substr(0, n);
}

bool is_digits(std::string_view s) {
  for (const char c : s)
    if (c < '0' || c > '9')
      return false;
  return true;
}

bool is_base32(std::string_view s) {
  for (const char c : s)
    if (!((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7')))
      return false;
  return true;
}

} // namespace

decision decide(const file_record* local, const file_record& remote) {
  // Unknown path: take even a deletion. Applying it is a no-op, but storing the tombstone keeps
  // its version, so an older creation of the same path that arrives later (from a third node)
  // compares as lesser instead of resurrecting the file on this node alone.
  if (local == nullptr)
    return {verdict::take};
  switch (compare(remote.version, local->version)) {
  case ordering::equal:
  case ordering::lesser:
    return {verdict::ignore};
  case ordering::greater:
    return {verdict::take};
  case ordering::concurrent:
    break;
  }
  // Concurrent but nothing to lose (same bytes, two deletions, two dirs): both nodes settle on
  // the winner's record without a conflict copy. Taking unconditionally would swap the two
  // vectors back and forth forever; ignoring on both sides would leave them concurrent, so every
  // later edit would look like a conflict.
  if (equivalent(*local, remote))
    return {wins(remote, *local) ? verdict::take : verdict::ignore};
  // Delete vs modify: the modification wins on both sides.
  if (local->deleted)
    return {verdict::take};
  if (remote.deleted)
    return {verdict::keep_local, true};
  return {wins(remote, *local) ? verdict::take_conflict : verdict::keep_local};
}

bool wins(const file_record& a, const file_record& b) {
  if (a.deleted != b.deleted)
    return !a.deleted;
  if (a.mtime_ns != b.mtime_ns)
    return a.mtime_ns > b.mtime_ns;
  if (a.modified_by != b.modified_by)
    return a.modified_by > b.modified_by;
  // Tie-breakers so that any two records that differ in version or path are strictly ordered.
  const std::string va = a.version.encode();
  const std::string vb = b.version.encode();
  if (va != vb)
    return va > vb;
  return a.path > b.path;
}

std::string conflict_name(std::string_view path, std::int64_t mtime_ns, short_id modified_by) {
  const std::string_view dir = parent_of(path);
  const std::string_view base = base_name(path);
  // The extension starts at the last '.', unless that is the first character (".bashrc").
  std::string_view stem = base;
  std::string_view ext;
  const std::size_t dot = base.rfind('.');
  if (dot != std::string_view::npos && dot > 0) {
    stem = base.substr(0, dot);
    ext = base.substr(dot);
  }
  std::string suffix(conflict_marker);
  suffix += utc_stamp(split_ns(mtime_ns).sec);
  suffix += '-';
  suffix += format_short_id(modified_by).substr(0, device_chars);
  // Keep the new name within NAME_MAX, else the conflict copy could never be created or synced.
  const std::size_t budget = max_component - suffix.size();
  if (stem.size() + ext.size() > budget) {
    if (ext.size() < budget) {
      stem = utf8_prefix(stem, budget - ext.size());
    } else {
      stem = utf8_prefix(base, budget);
      ext = {};
    }
  }
  std::string out;
  out.reserve(path.size() + suffix.size());
  if (!dir.empty()) {
    out += dir;
    out += '/';
  }
  out += stem;
  out += suffix;
  out += ext;
  return out;
}

bool is_conflict_name(std::string_view path) {
  const std::string_view base = base_name(path);
  // ".sync-conflict-" + YYYYMMDD + '-' + HHMMSS + '-' + DEVICE, then the end or an extension.
  constexpr std::size_t tail = 8 + 1 + 6 + 1 + device_chars;
  for (std::size_t at = base.find(conflict_marker); at != std::string_view::npos;
       at = base.find(conflict_marker, at + 1)) {
    const std::string_view rest = base.substr(at + conflict_marker.size());
    if (rest.size() < tail)
      break;
    if (is_digits(rest.substr(0, 8)) && rest[8] == '-' && is_digits(rest.substr(9, 6)) &&
        rest[15] == '-' && is_base32(rest.substr(16, device_chars)) &&
        (rest.size() == tail || rest[tail] == '.'))
      return true;
  }
  return false;
}

} // namespace cascade::core
