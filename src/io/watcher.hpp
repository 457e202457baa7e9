// Watches a folder recursively with inotify, driven by a libuv loop (uv_poll on the inotify fd;
// uv_fs_event would hide IN_CLOSE_WRITE, which tells a finished write from one in progress).
// Linux has no recursive watch: one watch per directory, added when a directory appears.
// Runs on the loop's thread only.
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/coalescer.hpp"
#include "io/folder.hpp"

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

private:
  static void on_readable(uv_poll_t* h, int status, int events);
  void drain();
  // Watches `rel` and every directory below it; reports every entry found as created when
  // `report` is set (a directory that appears already full must not lose its files).
  void add_tree(const std::string& rel, bool report, std::vector<watch_event>& out);
  void forget_tree(const std::string& rel);
  bool open_for_writing(const std::string& rel) const;

  uv_loop_t* loop_;
  const folder& root_;
  sink on_events_;
  std::function<void()> on_overflow_;
  int fd_ = -1;
  uv_poll_t poll_{};
  bool polling_ = false;
  std::unordered_map<int, std::string> by_wd_;
  std::unordered_map<std::string, int> by_path_;
  std::atomic<std::size_t> watches_{0}; // by_wd_.size(), published for other threads
};

} // namespace cascade::io
