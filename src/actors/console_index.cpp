// The index's answers to the debug console, and the bookkeeping behind propagation latency.
#include "actors/console_index.hpp"

#include <algorithm>
#include <chrono>
#include <set>

#include "core/path.hpp"
#include "io/ignore_rules.hpp"
#include "io/log.hpp"

namespace cascade::actors::index_detail {

namespace {

std::int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool has_wildcard(const std::string& glob) {
  return glob.find_first_of("*?[") != std::string::npos;
}

} // namespace

std::int64_t take_changed_at(index_state& st, const std::string& path) {
  if (auto it = st.seen_at.find(path); it != st.seen_at.end()) {
    auto t = it->second;
    st.seen_at.erase(it);
    if (t > 0)
      return t;
  }
  return wall_ns();
}

void note_applied(index_state& st, const core::file_record& r, const core::device_id& from) {
  if (r.changed_at_ns <= 0)
    return; // a record from a rescan's era or an older peer: no stamp, no sample
  auto took = wall_ns() - r.changed_at_ns;
  st.latency.record(took);
  st.latency_by_peer[from].record(took);
  io::log_debug("applied " + r.path + " " + std::to_string(took / 1000) +
                " us after its source saw the change");
}

void remember_relay(index_state& st, const status_actor& a) {
  std::erase_if(st.relays, [](auto& w) { return !w.lock(); });
  st.relays.push_back(caf::actor_cast<caf::weak_actor_ptr>(a));
}

std::vector<status_actor> children(index_state& st) {
  std::vector<status_actor> out;
  for (auto& [path, a] : st.transfers)
    out.push_back(a);
  std::erase_if(st.relays, [](auto& w) { return !w.lock(); });
  for (auto& w : st.relays) {
    auto a = caf::actor_cast<status_actor>(w.lock());
    if (a && std::find(out.begin(), out.end(), a) == out.end())
      out.push_back(a);
  }
  return out;
}

void scan_seen(index_logic& logic, const std::vector<std::string>& paths,
               const std::vector<std::int64_t>& seen_at) {
  auto& st = logic.st();
  for (std::size_t i = 0; i < paths.size() && i < seen_at.size(); ++i)
    if (seen_at[i] > 0)
      st.seen_at.try_emplace(paths[i], seen_at[i]);
  logic.scan(paths);
  for (auto& p : paths)
    if (!st.hashing.count(p) && !st.deletes.holds(p))
      st.seen_at.erase(p);
  if (st.seen_at.size() > 100000)
    st.seen_at.clear(); // paths whose hash never came back: stamps are best effort
}

core::index_summary summarize(index_state& st) {
  core::index_summary s;
  auto t = st.db->totals();
  s.files = t.files;
  s.dirs = t.dirs;
  s.bytes = t.bytes;
  s.deleted = t.deleted;
  s.sequence = st.db->last_sequence();
  s.epoch = st.db->epoch();
  std::tie(s.needed_files, s.needed_bytes) = st.db->needed_totals();
  s.transfers = st.transfers.size();
  s.waiting = st.waiting.size() + st.slots.waiting(); // due pulls wait for a slot there
  s.hashing = st.hashing.size();
  s.deletes_held = st.deletes.pending();
  s.halted = st.halted;
  s.paused = st.user_paused;
  s.mode = core::folder_mode_name(st.mode);
  s.faults = st.faults.list();
  s.latency = st.latency.summary();
  for (auto& [dev, tracker] : st.latency_by_peer)
    s.latency_by_peer.emplace_back(dev, tracker.summary());
  return s;
}

files_reply find_files(index_state& st, const node_context* ctx, const std::string& glob,
                       std::size_t limit) {
  auto& db = *st.db;
  std::vector<core::stored_record> found;
  if (glob.empty()) {
    found = db.matching("*", limit + 1);
  } else {
    found = db.matching(glob, limit + 1);
    if (!has_wildcard(glob)) { // "docs" is docs and everything below it
      auto below = db.matching(glob + "/*", limit + 1);
      found.insert(found.end(), below.begin(), below.end());
      std::sort(found.begin(), found.end(),
                [](auto& a, auto& b) { return a.record.path < b.record.path; });
    }
  }
  bool truncated = found.size() > limit;
  if (truncated)
    found.resize(limit);

  // Names for the short ids of version vectors: us, live sessions, every peer we ever read.
  device_names names;
  names[ctx->self_short] = core::format_device_id(ctx->self);
  for (auto& d : db.known_peers())
    names[core::short_of(d)] = core::format_device_id(d);
  for (auto& [id, s] : st.sessions)
    names[core::short_of(s.device)] = core::format_device_id(s.device);
  auto name_of = [&](core::short_id s) {
    auto it = names.find(s);
    return it != names.end() ? it->second : core::format_short_id(s);
  };

  std::vector<core::file_info> out;
  out.reserve(found.size());
  for (auto& f : found) {
    core::file_info i;
    i.record = std::move(f.record);
    i.has.push_back(names[ctx->self_short]);
    auto add = [&](core::short_id s) {
      auto n = name_of(s);
      if (s != 0 && std::find(i.has.begin(), i.has.end(), n) == i.has.end())
        i.has.push_back(n);
    };
    if (f.received_from != 0) {
      i.received_from = name_of(f.received_from);
      add(f.received_from);
    }
    add(i.record.modified_by);
    if (auto n = db.get_needed(i.record.path)) {
      i.needed = std::move(n->record);
      i.needed_from = core::format_device_id(n->from);
    }
    out.push_back(std::move(i));
  }
  return {std::move(out), truncated, std::move(names)};
}

std::vector<core::conflict_info> find_conflicts(index_state& st) {
  std::vector<core::conflict_info> out;
  for (auto& p : st.db->live_paths()) {
    auto c = core::parse_conflict_name(p);
    if (!c)
      continue;
    if (auto r = st.db->get(p)) {
      c->size = r->record.size;
      c->mtime_ns = r->record.mtime_ns;
    }
    out.push_back(std::move(*c));
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.path < b.path; });
  return out;
}

namespace {

// Whether p is one of roots or below one ("" in roots holds everything).
bool within(const std::set<std::string>& roots, std::string_view p) {
  if (roots.count(""))
    return true;
  while (!p.empty()) {
    if (roots.count(std::string(p)))
      return true;
    p = core::parent_of(p);
  }
  return false;
}

} // namespace

subtree_scan scan_subtrees(index_logic& logic, const node_context* ctx,
                           const std::vector<std::string>& roots) {
  auto& folder = *ctx->folder;
  std::set<std::string> under(roots.begin(), roots.end());
  std::vector<std::string> paths;
  for (auto& root : under) {
    if (!root.empty())
      paths.push_back(root);
    auto s = root.empty() ? std::nullopt : folder.stat(root);
    if (root.empty() || (s && s->type == core::file_type::dir)) {
      auto below = folder.walk(root);
      paths.insert(paths.end(), below.begin(), below.end());
    }
  }
  std::uint64_t scanned = paths.size();
  std::set<std::string> seen(paths.begin(), paths.end());
  for (auto& p : logic.db().live_paths()) // once, however many roots
    if (!seen.count(p) && within(under, p))
      paths.push_back(p); // indexed but gone: a deletion to record
  auto before = logic.db().last_sequence();
  logic.scan(paths);
  std::uint64_t changes = logic.db().last_sequence() - before;
  std::uint64_t hashing = 0;
  for (auto& p : logic.st().hashing)
    if (within(under, p))
      ++hashing;
  return {scanned, changes, hashing};
}

rescan_reply rescan_path(index_logic& logic, const node_context* ctx, const std::string& path) {
  if (!path.empty() && core::validate_path(path) != core::path_error::ok)
    return {0, 0, 0, "'" + path + "' is not a path inside the folder"};
  auto r = scan_subtrees(logic, ctx, {path});
  io::log_info("console: rescanned " + (path.empty() ? ctx->folder->root() : path) + ": " +
               std::to_string(r.scanned) + " entries, " + std::to_string(r.changes) +
               " changes recorded, " + std::to_string(r.hashing) + " files being hashed");
  return {r.scanned, r.changes, r.hashing, std::string()};
}

paths_reply find_ignored(const node_context* ctx, const std::string& glob) {
  constexpr std::size_t limit = 1000;
  std::vector<std::string> out;
  bool truncated = false;
  if (!ctx->ignores)
    return {std::move(out), truncated};
  auto set = ctx->ignores->current();
  bool by_name = glob.find('/') == std::string::npos;
  auto wanted = [&](const std::string& p) {
    return glob.empty() || core::glob_match(glob, p) || core::is_under(p, glob) ||
           (by_name && core::glob_match(glob, core::base_name(p)));
  };
  auto& folder = *ctx->folder;
  std::vector<std::string> dirs{""};
  while (!dirs.empty() && !truncated) {
    auto dir = std::move(dirs.back());
    dirs.pop_back();
    auto names = folder.list(dir).value_or(std::vector<std::string>{});
    std::sort(names.begin(), names.end(), std::greater<>()); // popped in name order
    for (auto& n : names) {
      auto p = dir.empty() ? n : dir + "/" + n;
      if (core::validate_path(p) != core::path_error::ok)
        continue;
      auto st = folder.stat(p);
      bool is_dir = st && st->type == core::file_type::dir;
      if (!set->ignored(p, is_dir)) {
        if (is_dir)
          dirs.push_back(p);
        continue;
      }
      if (!wanted(p))
        continue;
      if (out.size() == limit) {
        truncated = true;
        break;
      }
      out.push_back(is_dir ? p + "/" : p);
    }
  }
  std::sort(out.begin(), out.end());
  return {std::move(out), truncated};
}

} // namespace cascade::actors::index_detail
