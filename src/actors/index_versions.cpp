// The index, versions (issue 14.2): what peers deleted, overwrote or renamed away is kept by the
// applier under .cascade/versions; here the clean-up by age and size, and the console's list and
// restore.
#include <fnmatch.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>

#include "actors/console_index.hpp"
#include "actors/index_logic.hpp"
#include "core/path.hpp"
#include "core/utc_stamp.hpp"
#include "io/log.hpp"

namespace cascade::actors::index_detail {

namespace {

constexpr std::uint64_t min_default_cap = 1ull << 30; // the 10% default never goes below 1 GiB

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::uint64_t cap_of(index_logic& logic, const node_context* ctx) {
  if (ctx->versions_cap)
    return *ctx->versions_cap;
  return std::max(logic.db().totals().bytes / 10, min_default_cap);
}

// A glob as `files` takes it: * ? [..] across '/', or a plain path and what is below it.
bool matches_glob(const std::string& glob, const std::string& path) {
  if (glob.empty() || ::fnmatch(glob.c_str(), path.c_str(), 0) == 0)
    return true;
  return path.size() > glob.size() && path.compare(0, glob.size(), glob) == 0 &&
         path[glob.size()] == '/';
}

message_reply restore_error(const std::string& why) {
  return {std::string(), why};
}

} // namespace

void index_logic::clean_versions() {
  auto* v = ctx_->versions;
  if (!v || ctx_->keep_versions_s <= 0)
    return;
  auto all = v->list();
  std::map<std::string, std::uint64_t> sizes;
  std::uint64_t total = 0;
  for (auto& f : all) {
    sizes[f.name] = f.size;
    total += f.size;
  }
  auto gone =
      core::versions_to_remove(all, unix_now(), {ctx_->keep_versions_s, cap_of(*this, ctx_)});
  std::uint64_t freed = 0;
  std::size_t removed = 0;
  for (auto& name : gone) {
    if (!v->remove(name)) {
      io::log_warn("cannot remove old version " + name + ": " + std::strerror(errno));
      continue;
    }
    freed += sizes[name];
    ++removed;
  }
  st().versions_bytes = total - freed;
  if (removed > 0)
    io::log_info("removed " + std::to_string(removed) + " old versions (" + std::to_string(freed) +
                 " bytes); " + std::to_string(all.size() - removed) + " versions (" +
                 std::to_string(total - freed) + " bytes) kept");
}

void index_logic::note_versions() {
  auto kept = st().disk->take_kept_bytes();
  if (kept == 0)
    return;
  st().versions_bytes += kept;
  auto cap = cap_of(*this, ctx_);
  if (cap > 0 && st().versions_bytes > cap)
    clean_versions();
}

std::vector<core::version_info> find_versions(const node_context* ctx, const std::string& glob) {
  std::vector<core::version_info> out;
  if (!ctx->versions)
    return out;
  for (auto& f : ctx->versions->list()) {
    auto id = core::parse_version_name(f.name);
    if (!id || !matches_glob(glob, id->path))
      continue;
    auto st = ctx->versions->stat(f.name);
    out.push_back({id->path, f.name, f.time_s, f.size, st ? st->mtime_ns : 0});
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) {
    return std::tie(a.path, a.time_s, a.name) < std::tie(b.path, b.time_s, b.name);
  });
  return out;
}

message_reply restore_version(index_logic& logic, const node_context* ctx, const std::string& path,
                              const std::string& time) {
  if (core::validate_path(path) != core::path_error::ok)
    return restore_error("'" + path + "' is not a path inside the folder");
  std::optional<std::int64_t> at;
  if (!time.empty() && !(at = core::parse_utc_stamp(time)))
    return restore_error("'" + time + "' is not a time as `versions` lists it (YYYYMMDD-HHMMSS)");
  auto* v = ctx->versions;
  auto pick = v ? core::pick_version(v->list(), path, at) : std::nullopt;
  if (!pick)
    return restore_error("no version of " + path + (time.empty() ? "" : " from " + time) +
                         " (see: versions " + path + ")");
  auto& folder = *ctx->folder;
  auto cur = folder.stat(path);
  if (cur && cur->type != core::file_type::file)
    return restore_error("cannot restore " + path + ": a " +
                         (cur->type == core::file_type::dir ? "directory" : "symlink") +
                         " is in its place");
  // What is there now may be wanted too: it becomes a version itself, as Syncthing does.
  std::optional<std::string> kept;
  if (cur && !(kept = v->keep(folder, path, unix_now(), false)) && errno != 0)
    return restore_error("cannot keep the current " + path +
                         " as a version: " + std::strerror(errno));
  std::vector<std::string> scan; // new parent directories first, then the file
  for (auto p = core::parent_of(path); !p.empty() && !folder.stat(p); p = core::parent_of(p))
    scan.insert(scan.begin(), std::string(p));
  if (!v->restore(pick->name, folder, path)) {
    int err = errno;
    if (kept)
      v->restore(*kept, folder, path); // put the current file back
    return restore_error("cannot restore " + path + ": " + std::strerror(err));
  }
  scan.push_back(path);
  logic.scan(scan); // a local change: recorded and announced like an edit
  auto said = "restored " + path + " from " + pick->name +
              (kept ? "; the file it replaced is kept as " + *kept : std::string());
  io::log_info("console: " + said);
  return {said, std::string()};
}

} // namespace cascade::actors::index_detail
