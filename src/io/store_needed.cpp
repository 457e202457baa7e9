// The store's tables about peers: records needed from them and how far we have read each one.
#include <sqlite3.h>

#include <cstring>

#include "io/store.hpp"
#include "io/store_sql.hpp"

namespace cascade::io {

using namespace store_sql;

void sqlite_store::put_needed(const core::file_record& r, const core::device_id& from) {
  auto* s = prepare("INSERT OR REPLACE INTO needed (path, record, peer, size) VALUES (?, ?, ?, ?)");
  stmt_guard g{s};
  bind_text(s, 1, r.path);
  auto blob = encode_record(r);
  bind_blob(s, 2, blob.data(), blob.size());
  bind_blob(s, 3, from.data(), from.size());
  sqlite3_bind_int64(s, 4, r.deleted ? 0 : static_cast<sqlite3_int64>(r.size));
  step_done(s);
}

void sqlite_store::remove_needed(std::string_view path) {
  auto* s = prepare("DELETE FROM needed WHERE path = ?");
  stmt_guard g{s};
  bind_text(s, 1, path);
  step_done(s);
}

namespace {
std::optional<core::needed_record> read_needed(sqlite3_stmt* s) {
  auto r = decode_record(column_text(s, 0));
  auto peer = column_text(s, 1);
  if (!r || peer.size() != 32)
    return std::nullopt;
  core::needed_record n{std::move(*r), {}};
  std::memcpy(n.from.data(), peer.data(), 32);
  return n;
}
} // namespace

std::optional<core::needed_record> sqlite_store::get_needed(std::string_view path) {
  auto* s = prepare("SELECT record, peer FROM needed WHERE path = ?");
  stmt_guard g{s};
  bind_text(s, 1, path);
  if (sqlite3_step(s) != SQLITE_ROW)
    return std::nullopt;
  return read_needed(s);
}

std::vector<core::needed_record> sqlite_store::all_needed() {
  auto* s = prepare("SELECT record, peer FROM needed");
  stmt_guard g{s};
  std::vector<core::needed_record> out;
  while (sqlite3_step(s) == SQLITE_ROW)
    if (auto n = read_needed(s))
      out.push_back(std::move(*n));
  return out;
}

std::pair<std::uint64_t, std::uint64_t> sqlite_store::peer_progress(const core::device_id& peer) {
  auto* s = prepare("SELECT epoch, seq FROM peers WHERE device = ?");
  stmt_guard g{s};
  bind_blob(s, 1, peer.data(), peer.size());
  if (sqlite3_step(s) != SQLITE_ROW)
    return {0, 0};
  return {static_cast<std::uint64_t>(sqlite3_column_int64(s, 0)),
          static_cast<std::uint64_t>(sqlite3_column_int64(s, 1))};
}

void sqlite_store::set_peer_progress(const core::device_id& peer, std::uint64_t epoch,
                                     std::uint64_t seq) {
  auto* s = prepare("INSERT OR REPLACE INTO peers (device, epoch, seq) VALUES (?, ?, ?)");
  stmt_guard g{s};
  bind_blob(s, 1, peer.data(), peer.size());
  sqlite3_bind_int64(s, 2, static_cast<sqlite3_int64>(epoch));
  sqlite3_bind_int64(s, 3, static_cast<sqlite3_int64>(seq));
  step_done(s);
}

std::pair<std::uint64_t, std::uint64_t> sqlite_store::needed_totals() {
  auto* s = prepare("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM needed");
  stmt_guard g{s};
  if (sqlite3_step(s) != SQLITE_ROW)
    return {0, 0};
  return {static_cast<std::uint64_t>(sqlite3_column_int64(s, 0)),
          static_cast<std::uint64_t>(sqlite3_column_int64(s, 1))};
}

std::vector<core::device_id> sqlite_store::known_peers() {
  auto* s = prepare("SELECT device FROM peers");
  stmt_guard g{s};
  std::vector<core::device_id> out;
  while (sqlite3_step(s) == SQLITE_ROW) {
    auto d = column_text(s, 0);
    if (d.size() == 32) {
      out.emplace_back();
      std::memcpy(out.back().data(), d.data(), 32);
    }
  }
  return out;
}

} // namespace cascade::io
