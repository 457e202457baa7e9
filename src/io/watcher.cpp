#include "io/watcher.hpp"

#include <fcntl.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/path.hpp"
#include "io/log.hpp"

namespace cascade::io {

namespace {

constexpr std::uint32_t watch_mask = IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_DELETE |
                                     IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF |
                                     IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK;

std::string join(const std::string& dir, std::string_view name) {
  return dir.empty() ? std::string(name) : dir + "/" + std::string(name);
}

} // namespace

// A read lease is granted only while no process has the file open for writing. Where leases
// are not allowed (another owner, no CAP_LEASE), assume the worst: it is busy.
bool fs_watcher::open_for_writing(const std::string& rel) const {
  auto fd = root_.open_read(rel);
  if (!fd)
    return true;
  if (::fcntl(fd.get(), F_SETLEASE, F_RDLCK) != 0)
    return true;
  ::fcntl(fd.get(), F_SETLEASE, F_UNLCK);
  return false;
}

fs_watcher::fs_watcher(uv_loop_t* loop, const folder& root, sink on_events,
                       std::function<void()> on_overflow)
    : loop_(loop), root_(root), on_events_(std::move(on_events)),
      on_overflow_(std::move(on_overflow)) {}

fs_watcher::~fs_watcher() {
  stop();
}

bool fs_watcher::start(std::string& error) {
  fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) {
    error = std::string("inotify_init1: ") + std::strerror(errno);
    return false;
  }
  std::vector<watch_event> ignored;
  add_tree("", false, ignored);
  if (by_wd_.empty()) {
    unwatched_.clear();
    error = std::string("cannot watch ") + root_.root() + ": " + std::strerror(errno) +
            (errno == ENOSPC ? " (raise fs.inotify.max_user_watches)" : "");
    return false;
  }
  uv_poll_init(loop_, &poll_, fd_);
  poll_.data = this;
  uv_poll_start(&poll_, UV_READABLE, &fs_watcher::on_readable);
  polling_ = true;
  uv_timer_init(loop_, &rescan_timer_);
  rescan_timer_.data = this;
  uv_timer_start(&rescan_timer_, &fs_watcher::on_rescan_timer, rescan_interval_s * 1000,
                 rescan_interval_s * 1000);
  uv_timer_init(loop_, &ignore_timer_);
  ignore_timer_.data = this;
  timer_on_ = true;
  if (!unwatched_.empty())
    warn_limit();
  return true;
}

void fs_watcher::on_ignore_timer(uv_timer_t* t) {
  static_cast<fs_watcher*>(t->data)->apply_ignores();
}

void fs_watcher::apply_ignores() {
  if (!ignores_ || !ignores_->reload())
    return;
  std::vector<std::string> now_ignored;
  for (auto& [path, wd] : by_path_)
    if (ignored(path, true))
      now_ignored.push_back(path);
  for (auto& p : now_ignored)
    if (by_path_.count(p)) // not gone with a parent already
      forget_tree(p);
  for (auto it = unwatched_.begin(); it != unwatched_.end();)
    it = ignored(*it, true) ? unwatched_.erase(it) : std::next(it);
  std::vector<watch_event> found;  // not reported: the index rescans everything
  for (auto& p : root_.walk("")) { // skips what is ignored now
    if (by_path_.count(p) || unwatched_.count(p))
      continue;
    auto st = root_.stat(p);
    if (st && st->type == core::file_type::dir)
      add_tree(p, false, found);
  }
  if (on_ignores_changed_)
    on_ignores_changed_();
}

void fs_watcher::on_rescan_timer(uv_timer_t* t) {
  static_cast<fs_watcher*>(t->data)->revisit_unwatched();
}

void fs_watcher::revisit_unwatched() {
  if (unwatched_.empty())
    return;
  auto roots = std::move(unwatched_);
  unwatched_.clear();
  std::vector<watch_event> found;
  for (auto& r : roots) {
    auto st = root_.stat(r);
    if (st && st->type == core::file_type::dir && !by_path_.count(r))
      add_tree(r, true, found); // watched now (limit raised or watches freed): report its entries
  }
  if (!found.empty())
    on_events_(std::move(found));
  if (unwatched_.empty()) {
    unwatched_dirs_ = 0;
    io::log_info("every directory has a watch again");
    return;
  }
  warn_limit();
  if (on_unwatched_)
    on_unwatched_(std::vector<std::string>(unwatched_.begin(), unwatched_.end()));
}

void fs_watcher::warn_limit() {
  if (unwatched_ == counted_ && last_warning_ms_ && uv_now(loop_) - last_warning_ms_ < 60'000)
    return; // the same trees as last time: nothing new to count or say
  counted_ = unwatched_;
  std::size_t dirs = 0;
  for (auto& r : unwatched_) {
    ++dirs;
    for (auto& p : root_.walk(r)) {
      auto st = root_.stat(p);
      if (st && st->type == core::file_type::dir)
        ++dirs;
    }
  }
  unwatched_dirs_ = dirs;
  auto now = uv_now(loop_);
  if (dirs <= warned_for_ && last_warning_ms_ && now - last_warning_ms_ < 60'000)
    return;
  last_warning_ms_ = now;
  warned_for_ = dirs;
  std::string limit = "?";
  if (FILE* f = std::fopen("/proc/sys/fs/inotify/max_user_watches", "r")) {
    char buf[32] = {};
    if (std::fgets(buf, sizeof buf, f))
      limit = std::string(buf, std::strcspn(buf, "\n"));
    std::fclose(f);
  }
  auto need = watch_count() + dirs;
  io::log_warn("inotify watch limit reached: " + std::to_string(watch_count()) +
               " directories watched, " + std::to_string(dirs) +
               " without a watch (fs.inotify.max_user_watches is " + limit +
               "; this folder needs " + std::to_string(need) +
               " watches: raise it, e.g. sysctl fs.inotify.max_user_watches=" +
               std::to_string(need * 2 + 8192) + "); until then they are rescanned every " +
               std::to_string(rescan_interval_s) + " s");
}

void fs_watcher::stop() {
  if (timer_on_) {
    uv_timer_stop(&rescan_timer_);
    uv_close(reinterpret_cast<uv_handle_t*>(&rescan_timer_), nullptr);
    uv_timer_stop(&ignore_timer_);
    uv_close(reinterpret_cast<uv_handle_t*>(&ignore_timer_), nullptr);
    timer_on_ = false;
  }
  if (polling_) {
    uv_poll_stop(&poll_);
    uv_close(reinterpret_cast<uv_handle_t*>(&poll_), nullptr);
    polling_ = false;
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

void fs_watcher::add_tree(const std::string& rel, bool report, std::vector<watch_event>& out) {
  if (!rel.empty() && core::validate_path(rel) != core::path_error::ok)
    return; // never descend into .cascade or badly named directories
  if (ignored(rel, true))
    return; // no watch, no scan: an ignored node_modules/ costs nothing
  std::string abs = rel.empty() ? root_.root() : root_.root() + "/" + rel;
  int wd = inotify_add_watch(fd_, abs.c_str(), watch_mask);
  if (wd < 0) {
    if (errno == ENOSPC || errno == ENOMEM)
      unwatched_.insert(rel); // over the watch limit: rescanned instead (revisit_unwatched)
    return;
  }
  by_wd_[wd] = rel;
  watches_ = by_wd_.size();
  by_path_[rel] = wd;
  auto names = root_.list(rel);
  if (!names)
    return;
  for (auto& n : *names) {
    auto child = join(rel, n);
    if (core::validate_path(child) != core::path_error::ok)
      continue;
    auto st = root_.stat(child);
    if (st && ignored(child, st->type == core::file_type::dir))
      continue;
    if (report && st) {
      // A file found in a new directory may still be written (cp -r): only one no process
      // holds open for writing is complete now; the others wait for their close.
      bool busy = st->type == core::file_type::file && open_for_writing(child);
      out.push_back({child, busy ? core::fs_event::modified : core::fs_event::created});
    }
    if (st && st->type == core::file_type::dir)
      add_tree(child, report, out);
  }
}

void fs_watcher::forget_tree(const std::string& rel) {
  for (auto it = unwatched_.begin(); it != unwatched_.end();)
    it = core::is_under(*it, rel) || *it == rel ? unwatched_.erase(it) : std::next(it);
  for (auto it = by_path_.begin(); it != by_path_.end();) {
    if (core::is_under(it->first, rel)) {
      inotify_rm_watch(fd_, it->second);
      by_wd_.erase(it->second);
      it = by_path_.erase(it);
    } else {
      ++it;
    }
  }
  watches_ = by_wd_.size();
}

void fs_watcher::on_readable(uv_poll_t* h, int status, int) {
  if (status >= 0)
    static_cast<fs_watcher*>(h->data)->drain();
}

void fs_watcher::drain() {
  alignas(inotify_event) char buf[64 * 1024];
  std::vector<watch_event> out;
  bool overflow = false;
  while (true) {
    auto n = ::read(fd_, buf, sizeof buf);
    if (n <= 0)
      break;
    for (char* p = buf; p < buf + n;) {
      auto* e = reinterpret_cast<inotify_event*>(p);
      p += sizeof(inotify_event) + e->len;
      if (e->mask & IN_Q_OVERFLOW) {
        overflow = true;
        continue;
      }
      auto it = by_wd_.find(e->wd);
      if (it == by_wd_.end())
        continue;
      if (e->mask & IN_IGNORED) {
        by_path_.erase(it->second);
        by_wd_.erase(it);
        watches_ = by_wd_.size();
        continue;
      }
      if (e->len == 0) {
        // An event on the watched directory itself (IN_DELETE_SELF, IN_ATTRIB).
        out.push_back({it->second, core::fs_event::attrib});
        continue;
      }
      std::string path = join(it->second, e->name);
      if (it->second.empty() && e->name == core::state_dir_name &&
          (e->mask & (IN_DELETE | IN_MOVED_FROM))) {
        out.push_back({path, core::fs_event::removed}); // the marker: the index checks it
        continue;
      }
      if (core::validate_path(path) != core::path_error::ok)
        continue;
      bool is_dir = e->mask & IN_ISDIR;
      if (ignores_ && ignores_->is_source(path) && timer_on_) // reloaded once writes pause
        uv_timer_start(&ignore_timer_, &fs_watcher::on_ignore_timer, ignore_reload_delay_ms, 0);
      if (ignored(path, is_dir)) {
        if (is_dir && (e->mask & (IN_MOVED_FROM | IN_DELETE)))
          forget_tree(path);
        continue;
      }
      if (e->mask & IN_MOVED_FROM) {
        if (is_dir)
          forget_tree(path);
        out.push_back({path, core::fs_event::moved});
      } else if (e->mask & IN_MOVED_TO) {
        out.push_back({path, core::fs_event::moved});
        if (is_dir)
          add_tree(path, true, out);
      } else if (e->mask & IN_CREATE) {
        // A new regular file is usually still being written: wait for its close (or quiet).
        auto st = is_dir ? std::nullopt : root_.stat(path);
        bool plain_file = st && st->type == core::file_type::file;
        out.push_back({path, plain_file ? core::fs_event::modified : core::fs_event::created});
        if (is_dir)
          add_tree(path, true, out);
      } else if (e->mask & IN_DELETE) {
        if (is_dir)
          forget_tree(path);
        out.push_back({path, core::fs_event::removed});
      } else if (e->mask & IN_CLOSE_WRITE) {
        out.push_back({path, core::fs_event::closed_write});
      } else if (e->mask & IN_MODIFY) {
        out.push_back({path, core::fs_event::modified});
      } else if (e->mask & IN_ATTRIB) {
        out.push_back({path, core::fs_event::attrib});
      }
    }
  }
  if (!out.empty())
    on_events_(std::move(out));
  if (overflow)
    on_overflow_();
}

} // namespace cascade::io
