// Watches a folder recursively with inotify, driven by a libuv loop (uv_poll on the inotify fd;
// uv_fs_event would hide IN_CLOSE_WRITE, which tells a finished write from one in progress).
// Linux has no recursive watch: one watch per directory, added when a directory appears.
// Runs on the loop's thread only.
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/coalescer.hpp"
#include "io/folder.hpp"
#include "io/ignore_rules.hpp"

namespace cascade::io {

struct watch_event {
  std::string path; // relative to the root
  core::fs_event kind;
};

class fs_watcher {
public:
  using sink = std::function<void(std::vector<watch_event>)>;

  // `on_events` gets batches of events; `on_overflow` is called when the kernel queue
  // overflowed (events were lost: rescan everything).
  fs_watcher(uv_loop_t* loop, const folder& root, sink on_events,
             std::function<void()> on_overflow);
  ~fs_watcher();

  // Adds watches for the whole tree. Returns false and an error (e.g. the watch limit) if not.
  bool start(std::string& error);
  void stop();
  // Safe from any thread (the console asks).
  std::size_t watch_count() const { return watches_.load(std::memory_order_relaxed); }
  // Directories that could not get a watch (the inotify watch limit), and how often the trees
  // they head are rescanned instead. Safe from any thread.
  std::size_t unwatched_count() const { return unwatched_dirs_.load(std::memory_order_relaxed); }
  static constexpr int rescan_interval_s = 10;
  // Called every rescan_interval_s with the roots of the trees that still have no watch (the
  // index rescans them). Set before start().
  void on_unwatched(std::function<void(std::vector<std::string>)> fn) {
    on_unwatched_ = std::move(fn);
  }

  // Ignored directories get no watch and ignored paths no events. A change to one of the
  // rules' files reloads them (after a short quiet time): watches follow the new patterns and
  // `on_change` runs (the index rescans). Set before start().
  void use_ignores(ignore_rules* rules, std::function<void()> on_change) {
    ignores_ = rules;
    on_ignores_changed_ = std::move(on_change);
  }
  static constexpr int ignore_reload_delay_ms = 100;

private:
  bool ignored(const std::string& rel, bool is_dir) const {
    return ignores_ && !rel.empty() && ignores_->ignored(rel, is_dir);
  }
  static void on_ignore_timer(uv_timer_t* t);
  // Reloads the rules; drops the watches of newly ignored trees, adds those no longer ignored.
  void apply_ignores();
  static void on_readable(uv_poll_t* h, int status, int events);
  void drain();
  // Watches `rel` and every directory below it; reports every entry found as created when
  // `report` is set (a directory that appears already full must not lose its files).
  void add_tree(const std::string& rel, bool report, std::vector<watch_event>& out);
  void forget_tree(const std::string& rel);
  bool open_for_writing(const std::string& rel) const;
  static void on_rescan_timer(uv_timer_t* t);
  // Retries the watches of the unwatched trees, reports what it could watch now, hands the
  // rest to on_unwatched_, and warns (at most once a minute) while any remain.
  void revisit_unwatched();
  void warn_limit();

  uv_loop_t* loop_;
  const folder& root_;
  sink on_events_;
  std::function<void()> on_overflow_;
  int fd_ = -1;
  uv_poll_t poll_{};
  bool polling_ = false;
  std::unordered_map<int, std::string> by_wd_;
  std::unordered_map<std::string, int> by_path_;
  std::atomic<std::size_t> watches_{0};        // by_wd_.size(), published for other threads
  std::set<std::string> unwatched_;            // roots of trees whose watch the kernel refused
  std::atomic<std::size_t> unwatched_dirs_{0}; // directories in those trees
  std::function<void(std::vector<std::string>)> on_unwatched_;
  uv_timer_t rescan_timer_{};
  bool timer_on_ = false;
  std::uint64_t last_warning_ms_ = 0;
  std::size_t warned_for_ = 0;    // unwatched_dirs_ at the last warning
  std::set<std::string> counted_; // the trees unwatched_dirs_ was counted for
  ignore_rules* ignores_ = nullptr;
  std::function<void()> on_ignores_changed_;
  uv_timer_t ignore_timer_{};
};

} // namespace cascade::io
