// When local deletions may propagate. An `rm -rf` of the whole folder removes files before it
// reaches the marker (.cascade), and none of that may reach the peers; a single `rm` should be
// on the peers as fast as a new file. Pure: time is an argument.
//
// Rule: deletions wait until none has been seen for a quiet time that grows with the burst:
// `base` for a lone deletion, plus `per_path` for every further one seen in the burst (pending
// now, or flushed within `memory`), capped at `max_quiet`. An `rm -rf` deletes a file every few
// microseconds, so a second deletion arrives long before `base` has passed and the hold grows
// to `max_quiet`: ample time to reach the marker, which the caller checks before flushing.
//
// Renames: `mv big big2` is seen as deletions of big/... and creations of big2/..., and a large
// file under its new name is recorded only once it is hashed. If the old name's deletion reached
// the peers first, they would delete the bytes they could have copied and fetch them again. So
// deletions that are due while a file of the same size as one they remove is being hashed wait
// for the hashes too (may_be_renamed), at most `max_defer` more.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace cascade::core {

struct deletion_hold_params {
  std::int64_t base_ns = 8'000'000;           // a lone deletion: 8 ms
  std::int64_t per_path_ns = 8'000'000;       // each further deletion of the burst adds this
  std::int64_t max_quiet_ns = 100'000'000;    // never more than 100 ms of quiet asked
  std::int64_t memory_ns = 50'000'000;        // flushed deletions count for the burst this long
  std::int64_t max_defer_ns = 10'000'000'000; // waiting for hashes: never more than 10 s
};

class deletion_hold {
public:
  explicit deletion_hold(deletion_hold_params p = {}) : p_(p) {}

  void add(const std::string& path, std::int64_t now_ns);
  // When the pending deletions may be flushed (none pending: nullopt).
  std::optional<std::int64_t> due() const;
  // The pending deletions if due at `now_ns` (then forgotten), else nothing. With
  // `hashes_pending`, due only `max_defer` later (or once the hashes are done).
  std::vector<std::string> take_due(std::int64_t now_ns, bool hashes_pending = false);
  // When to look again after take_due gave nothing (none pending: nullopt).
  std::optional<std::int64_t> next_check(std::int64_t now_ns, bool hashes_pending) const;
  // The quiet time the current burst asks for.
  std::int64_t quiet_ns() const;

  std::size_t pending() const { return pending_.size(); }
  const std::set<std::string>& pending_paths() const { return pending_; }
  bool holds(const std::string& path) const { return pending_.count(path) != 0; }

private:
  void forget_old(std::int64_t now_ns);

  deletion_hold_params p_;
  std::set<std::string> pending_;
  std::int64_t last_ns_ = 0;
  std::deque<std::int64_t> recent_; // flush times of recently flushed deletions, oldest first
};

// True if a deletion removing files of `deleted_sizes` may be a rename whose new names are being
// hashed (files of `hashing_sizes`): a moved file keeps its size.
bool may_be_renamed(const std::vector<std::uint64_t>& deleted_sizes,
                    const std::set<std::uint64_t>& hashing_sizes);

} // namespace cascade::core
