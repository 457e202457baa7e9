#include "core/deletion_hold.hpp"

#include <algorithm>

namespace cascade::core {

void deletion_hold::add(const std::string& path, std::int64_t now_ns) {
  forget_old(now_ns);
  pending_.insert(path);
  last_ns_ = std::max(last_ns_, now_ns);
}

std::int64_t deletion_hold::quiet_ns() const {
  auto burst = pending_.size() + recent_.size();
  if (burst <= 1)
    return p_.base_ns;
  auto extra = static_cast<std::int64_t>(burst - 1);
  if (extra > (p_.max_quiet_ns - p_.base_ns) / std::max<std::int64_t>(p_.per_path_ns, 1))
    return p_.max_quiet_ns;
  return std::min(p_.max_quiet_ns, p_.base_ns + extra * p_.per_path_ns);
}

std::optional<std::int64_t> deletion_hold::due() const {
  if (pending_.empty())
    return std::nullopt;
  return last_ns_ + quiet_ns();
}

std::optional<std::int64_t> deletion_hold::next_check(std::int64_t now_ns,
                                                      bool hashes_pending) const {
  auto when = due();
  if (!when)
    return std::nullopt;
  if (now_ns < *when)
    return *when;
  return hashes_pending ? *when + p_.max_defer_ns : now_ns;
}

std::vector<std::string> deletion_hold::take_due(std::int64_t now_ns, bool hashes_pending) {
  auto when = due();
  if (!when || now_ns < *when || (hashes_pending && now_ns < *when + p_.max_defer_ns))
    return {};
  std::vector<std::string> out(pending_.begin(), pending_.end());
  pending_.clear();
  forget_old(now_ns);
  // Bounded: a burst longer than max_quiet/per_path already asks for the most; more entries
  // would change nothing.
  auto cap = static_cast<std::size_t>(p_.max_quiet_ns / std::max<std::int64_t>(p_.per_path_ns, 1));
  for (std::size_t i = 0; i < out.size() && recent_.size() <= cap; ++i)
    recent_.push_back(now_ns);
  return out;
}

void deletion_hold::forget_old(std::int64_t now_ns) {
  while (!recent_.empty() && now_ns - recent_.front() > p_.memory_ns)
    recent_.pop_front();
}

bool may_be_renamed(const std::vector<std::uint64_t>& deleted_sizes,
                    const std::set<std::uint64_t>& hashing_sizes) {
  return std::any_of(deleted_sizes.begin(), deleted_sizes.end(),
                     [&](std::uint64_t size) { return hashing_sizes.count(size) != 0; });
}

} // namespace cascade::core
