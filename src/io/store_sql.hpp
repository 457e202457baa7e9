// Private to the store's sources (store.cpp, store_needed.cpp): statement helpers and the
// record blob of the needed table.
#pragma once

#include <sqlite3.h>

#include <optional>
#include <string>
#include <string_view>

#include "core/record.hpp"

namespace cascade::io::store_sql {

// A statement reset on scope exit, so every early return leaves it reusable.
struct stmt_guard {
  sqlite3_stmt* s;
  ~stmt_guard() {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
};

inline std::string column_text(sqlite3_stmt* s, int i) {
  auto p = sqlite3_column_blob(s, i);
  auto n = sqlite3_column_bytes(s, i);
  return p ? std::string(static_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string();
}

inline void bind_text(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

inline void bind_blob(sqlite3_stmt* s, int i, const void* p, std::size_t n) {
  sqlite3_bind_blob(s, i, p, static_cast<int>(n), SQLITE_TRANSIENT);
}

// A whole record as one blob, for the needed table.
std::string encode_record(const core::file_record& r);
std::optional<core::file_record> decode_record(std::string_view b);

} // namespace cascade::io::store_sql
