// The store and the folder modes (issue 14.3): receive-only's unannounced local changes, and
// forgetting a record (revert).
#include <sqlite3.h>

#include "io/store.hpp"
#include "io/store_sql.hpp"

namespace cascade::io {

using namespace store_sql;

void sqlite_store::mark_local_change(std::string_view path) {
  auto* s = prepare("INSERT OR IGNORE INTO local_changes (path) VALUES (?)");
  stmt_guard g{s};
  bind_text(s, 1, path);
  step_done(s);
}

void sqlite_store::unmark_local_change(std::string_view path) {
  auto* s = prepare("DELETE FROM local_changes WHERE path = ?");
  stmt_guard g{s};
  bind_text(s, 1, path);
  step_done(s);
}

std::vector<std::string> sqlite_store::local_changes() {
  auto* s = prepare("SELECT path FROM local_changes ORDER BY path");
  stmt_guard g{s};
  std::vector<std::string> out;
  while (sqlite3_step(s) == SQLITE_ROW)
    out.emplace_back(column_text(s, 0));
  return out;
}

void sqlite_store::forget(std::string_view path) {
  for (auto* sql : {"DELETE FROM files WHERE path = ?", "DELETE FROM chunks WHERE path = ?"}) {
    auto* s = prepare(sql);
    stmt_guard g{s};
    bind_text(s, 1, path);
    step_done(s);
  }
}

} // namespace cascade::io
