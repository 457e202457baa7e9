#include "io/store.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>

#include "io/store_sql.hpp"

namespace cascade::io {

namespace {

const char* schema_sql = R"sql(
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
  path TEXT PRIMARY KEY, type INTEGER NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
  mode INTEGER NOT NULL, deleted INTEGER NOT NULL, version TEXT NOT NULL,
  seq INTEGER NOT NULL, modified_by INTEGER NOT NULL, chunks BLOB NOT NULL, target TEXT NOT NULL,
  inode INTEGER NOT NULL, received_from INTEGER NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS files_seq ON files (seq);
CREATE TABLE IF NOT EXISTS chunks (hash BLOB NOT NULL, path TEXT NOT NULL, offset INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_hash ON chunks (hash);
CREATE INDEX IF NOT EXISTS chunks_path ON chunks (path);
CREATE TABLE IF NOT EXISTS needed (path TEXT PRIMARY KEY, record BLOB NOT NULL, peer BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS peers (device BLOB PRIMARY KEY, epoch INTEGER NOT NULL, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS local_changes (path TEXT PRIMARY KEY);
)sql";

void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint64_t get_u64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

} // namespace

namespace store_sql {

// A whole record as one blob, for the needed table.
std::string encode_record(const core::file_record& r) {
  std::string out;
  auto put_str = [&](const std::string& s) {
    put_u64(out, s.size());
    out += s;
  };
  put_str(r.path);
  put_u64(out, static_cast<std::uint64_t>(r.type));
  put_u64(out, r.size);
  put_u64(out, static_cast<std::uint64_t>(r.mtime_ns));
  put_u64(out, r.mode);
  put_u64(out, r.deleted);
  put_str(r.version.encode());
  put_u64(out, r.sequence);
  put_u64(out, r.modified_by);
  put_str(encode_chunks(r.chunks));
  put_str(r.symlink_target);
  put_u64(out, static_cast<std::uint64_t>(r.changed_at_ns)); // absent in older blobs
  return out;
}

std::optional<core::file_record> decode_record(std::string_view b) {
  std::size_t pos = 0;
  auto u64 = [&](std::uint64_t& v) {
    if (b.size() - pos < 8)
      return false;
    v = get_u64(b.data() + pos);
    pos += 8;
    return true;
  };
  auto str = [&](std::string& s) {
    std::uint64_t n;
    if (!u64(n) || b.size() - pos < n)
      return false;
    s.assign(b.data() + pos, n);
    pos += n;
    return true;
  };
  core::file_record r;
  std::uint64_t type, mtime, mode, deleted;
  std::string version, chunks;
  if (!str(r.path) || !u64(type) || !u64(r.size) || !u64(mtime) || !u64(mode) || !u64(deleted) ||
      !str(version) || !u64(r.sequence) || !u64(r.modified_by) || !str(chunks) ||
      !str(r.symlink_target) || type > 2)
    return std::nullopt;
  auto vv = core::version_vector::decode(version);
  auto cl = decode_chunks(chunks);
  if (!vv || !cl)
    return std::nullopt;
  r.type = static_cast<core::file_type>(type);
  r.mtime_ns = static_cast<std::int64_t>(mtime);
  r.mode = static_cast<std::uint32_t>(mode);
  r.deleted = deleted != 0;
  r.version = *vv;
  r.chunks = std::move(*cl);
  std::uint64_t changed_at = 0;
  if (u64(changed_at))
    r.changed_at_ns = static_cast<std::int64_t>(changed_at);
  return r;
}

} // namespace store_sql

using namespace store_sql;

std::string encode_chunks(const std::vector<core::chunk>& chunks) {
  std::string out;
  out.reserve(chunks.size() * 44);
  for (auto& c : chunks) {
    put_u64(out, c.offset);
    for (int i = 0; i < 4; ++i)
      out.push_back(static_cast<char>((c.length >> (8 * i)) & 0xff));
    out.append(reinterpret_cast<const char*>(c.hash.data()), c.hash.size());
  }
  return out;
}

std::optional<std::vector<core::chunk>> decode_chunks(std::string_view blob) {
  if (blob.size() % 44 != 0)
    return std::nullopt;
  std::vector<core::chunk> out(blob.size() / 44);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const char* p = blob.data() + i * 44;
    out[i].offset = get_u64(p);
    std::uint32_t len = 0;
    for (int k = 3; k >= 0; --k)
      len = (len << 8) | static_cast<unsigned char>(p[8 + k]);
    out[i].length = len;
    std::memcpy(out[i].hash.data(), p + 12, 32);
  }
  return out;
}

namespace {

// The index lists every file of the folder with its hashes: 0600 like the rest of the state. The
// database is created here, 0600, before SQLite opens it, because SQLite gives its -wal and -shm
// files the database's mode; files an older version left 0644 are narrowed. Through O_NOFOLLOW
// descriptors: a symlink in their place is not followed (SQLite then refuses it too).
void make_private_files(const std::string& db) {
  for (auto* suffix : {"", "-wal", "-shm"}) {
    auto p = db + suffix;
    int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | (*suffix ? 0 : O_CREAT);
    int fd = ::open(p.c_str(), flags, 0600);
    if (fd < 0)
      continue;
    struct ::stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0)
      ::fchmod(fd, 0600);
    ::close(fd);
  }
}

} // namespace

sqlite_store::sqlite_store(const std::string& path) {
  make_private_files(path);
  if (sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW,
                      nullptr) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot open index " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db_, 5000);
  exec(schema_sql);
  add_column("files", "changed_at", "INTEGER NOT NULL DEFAULT 0");
  add_column("needed", "size", "INTEGER NOT NULL DEFAULT 0");
  add_column("files", "delta", "BLOB NOT NULL DEFAULT x''");
  auto e = meta("epoch");
  if (e.empty()) {
    std::random_device rd;
    epoch_ = (static_cast<std::uint64_t>(rd()) << 32 | rd()) >> 1;
    set_meta("epoch", std::to_string(epoch_));
  } else {
    epoch_ = std::stoull(e);
  }
  load_last_sequence();
}

core::store_error sqlite_error(int code, const std::string& what) {
  code &= 0xff; // the primary result code
  bool may_heal = code == SQLITE_FULL || code == SQLITE_IOERR || code == SQLITE_BUSY ||
                  code == SQLITE_LOCKED || code == SQLITE_NOMEM || code == SQLITE_CANTOPEN;
  return core::store_error(may_heal, what);
}

std::unique_ptr<core::index_store> open_index_store(const std::string& path) {
  return std::make_unique<sqlite_store>(path);
}

void sqlite_store::fail(int rc, const std::string& msg) {
  throw sqlite_error(rc, "index database: " + msg);
}

void sqlite_store::load_last_sequence() {
  auto* s = prepare("SELECT COALESCE(MAX(seq), 0) FROM files");
  stmt_guard g{s};
  if (sqlite3_step(s) == SQLITE_ROW)
    last_seq_ = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
  committed_seq_ = last_seq_;
}

sqlite_store::~sqlite_store() {
  for (auto* s : statements_)
    sqlite3_finalize(s);
  if (db_) {
    sqlite3_exec(db_, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
  }
}

void sqlite_store::exec(const char* sql) {
  char* err = nullptr;
  if (int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err); rc != SQLITE_OK) {
    std::string msg = err ? err : "?";
    sqlite3_free(err);
    fail(rc, msg);
  }
}

// Statements are cached by their text's address: every caller passes a literal.
sqlite3_stmt* sqlite_store::prepare(const char* sql) {
  for (auto* s : statements_)
    if (sqlite3_sql(s) == sql || std::strcmp(sqlite3_sql(s), sql) == 0)
      return s;
  sqlite3_stmt* s = nullptr;
  if (int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
      rc != SQLITE_OK)
    fail(rc, sqlite3_errmsg(db_));
  statements_.push_back(s);
  return s;
}

std::string sqlite_store::meta(const char* key) {
  auto* s = prepare("SELECT value FROM meta WHERE key = ?");
  stmt_guard g{s};
  bind_text(s, 1, key);
  return sqlite3_step(s) == SQLITE_ROW ? column_text(s, 0) : std::string();
}

void sqlite_store::set_meta(const char* key, const std::string& value) {
  auto* s = prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)");
  stmt_guard g{s};
  bind_text(s, 1, key);
  bind_text(s, 2, value);
  step_done(s);
}

// Columns added after the first release: an older database gets them on open.
void sqlite_store::add_column(const char* table, const char* column, const char* decl) {
  auto sql = std::string("SELECT COUNT(*) FROM pragma_table_info('") + table + "') WHERE name = '" +
             column + "'";
  sqlite3_stmt* s = nullptr;
  if (int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr); rc != SQLITE_OK)
    fail(rc, sqlite3_errmsg(db_));
  bool present = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int(s, 0) > 0;
  sqlite3_finalize(s);
  if (!present)
    exec((std::string("ALTER TABLE ") + table + " ADD COLUMN " + column + " " + decl).c_str());
}

void sqlite_store::begin() {
  rollback(); // a batch that failed half-way: none of it counts
  exec("BEGIN IMMEDIATE");
}
void sqlite_store::rollback() {
  // SQLite may have rolled back by itself (after SQLITE_FULL): the numbers go back either way.
  if (!sqlite3_get_autocommit(db_))
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  last_seq_ = committed_seq_;
}

// Every write is checked: a failed step (disk full, I/O error) throws, so nothing after it in
// the batch (a peer's progress above all) is recorded as if it had worked.
void sqlite_store::step_done(sqlite3_stmt* s) {
  int rc = sqlite3_step(s);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    fail(rc, sqlite3_errmsg(db_));
}
void sqlite_store::commit() {
  exec("COMMIT");
  committed_seq_ = last_seq_;
}

namespace {

const char* select_cols = "path, type, size, mtime_ns, mode, deleted, version, seq, modified_by, "
                          "chunks, target, inode, received_from, changed_at, delta";

core::stored_record read_row(sqlite3_stmt* s) {
  core::stored_record out;
  auto& r = out.record;
  r.path = column_text(s, 0);
  r.type = static_cast<core::file_type>(sqlite3_column_int(s, 1));
  r.size = static_cast<std::uint64_t>(sqlite3_column_int64(s, 2));
  r.mtime_ns = sqlite3_column_int64(s, 3);
  r.mode = static_cast<std::uint32_t>(sqlite3_column_int64(s, 4));
  r.deleted = sqlite3_column_int(s, 5) != 0;
  r.version = core::version_vector::decode(column_text(s, 6)).value_or(core::version_vector{});
  r.sequence = static_cast<std::uint64_t>(sqlite3_column_int64(s, 7));
  r.modified_by = static_cast<std::uint64_t>(sqlite3_column_int64(s, 8));
  r.chunks = decode_chunks(column_text(s, 9)).value_or(std::vector<core::chunk>{});
  r.symlink_target = column_text(s, 10);
  out.inode = static_cast<std::uint64_t>(sqlite3_column_int64(s, 11));
  out.received_from = static_cast<std::uint64_t>(sqlite3_column_int64(s, 12));
  r.changed_at_ns = sqlite3_column_int64(s, 13);
  if (auto blob = column_text(s, 14); !blob.empty())
    out.delta = core::decode_delta(blob);
  return out;
}

} // namespace

std::optional<core::stored_record> sqlite_store::get(std::string_view path) {
  static const std::string sql =
      std::string("SELECT ") + select_cols + " FROM files WHERE path = ?";
  auto* s = prepare(sql.c_str());
  stmt_guard g{s};
  bind_text(s, 1, path);
  if (sqlite3_step(s) != SQLITE_ROW)
    return std::nullopt;
  return read_row(s);
}

// The chunk list of a big file, told as an edit of the record it replaces (if that pays).
std::string sqlite_store::delta_from_old(const core::file_record& r) {
  if (r.type != core::file_type::file || r.deleted || r.chunks.size() < core::min_delta_chunks)
    return {};
  auto* s =
      prepare("SELECT version, chunks FROM files WHERE path = ? AND type = 0 AND deleted = 0");
  stmt_guard g{s};
  bind_text(s, 1, r.path);
  if (sqlite3_step(s) != SQLITE_ROW)
    return {};
  auto version = core::version_vector::decode(column_text(s, 0));
  auto chunks = decode_chunks(column_text(s, 1));
  if (!version || !chunks || *version == r.version)
    return {};
  auto d = core::make_delta(*version, *chunks, r.chunks);
  return d ? core::encode(*d) : std::string{};
}

void sqlite_store::put(core::file_record& r, std::uint64_t inode, core::short_id received_from) {
  r.sequence = ++last_seq_;
  auto delta = delta_from_old(r);
  {
    auto* s = prepare(
        "INSERT OR REPLACE INTO files (path, type, size, mtime_ns, mode, deleted, "
        "version, seq, modified_by, chunks, target, inode, received_from, changed_at, delta) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    stmt_guard g{s};
    bind_text(s, 1, r.path);
    sqlite3_bind_int(s, 2, static_cast<int>(r.type));
    sqlite3_bind_int64(s, 3, static_cast<sqlite3_int64>(r.size));
    sqlite3_bind_int64(s, 4, r.mtime_ns);
    sqlite3_bind_int64(s, 5, r.mode);
    sqlite3_bind_int(s, 6, r.deleted);
    bind_text(s, 7, r.version.encode());
    sqlite3_bind_int64(s, 8, static_cast<sqlite3_int64>(r.sequence));
    sqlite3_bind_int64(s, 9, static_cast<sqlite3_int64>(r.modified_by));
    auto blob = encode_chunks(r.chunks);
    bind_blob(s, 10, blob.data(), blob.size());
    bind_text(s, 11, r.symlink_target);
    sqlite3_bind_int64(s, 12, static_cast<sqlite3_int64>(inode));
    sqlite3_bind_int64(s, 13, static_cast<sqlite3_int64>(received_from));
    sqlite3_bind_int64(s, 14, r.changed_at_ns);
    bind_blob(s, 15, delta.data(), delta.size());
    step_done(s);
  }
  {
    auto* s = prepare("DELETE FROM chunks WHERE path = ?");
    stmt_guard g{s};
    bind_text(s, 1, r.path);
    step_done(s);
  }
  if (r.type == core::file_type::file && !r.deleted) {
    auto* s = prepare("INSERT INTO chunks (hash, path, offset) VALUES (?, ?, ?)");
    for (auto& c : r.chunks) {
      stmt_guard g{s};
      bind_blob(s, 1, c.hash.data(), c.hash.size());
      bind_text(s, 2, r.path);
      sqlite3_bind_int64(s, 3, static_cast<sqlite3_int64>(c.offset));
      step_done(s);
    }
  }
  if (sqlite3_get_autocommit(db_))
    committed_seq_ = last_seq_; // no transaction open: it is committed already
}

std::vector<core::stored_record> sqlite_store::since(std::uint64_t after, std::size_t limit) {
  static const std::string sql =
      std::string("SELECT ") + select_cols + " FROM files WHERE seq > ? ORDER BY seq LIMIT ?";
  auto* s = prepare(sql.c_str());
  stmt_guard g{s};
  sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(after));
  sqlite3_bind_int64(s, 2, static_cast<sqlite3_int64>(limit));
  std::vector<core::stored_record> out;
  while (sqlite3_step(s) == SQLITE_ROW)
    out.push_back(read_row(s));
  return out;
}

std::vector<std::string> sqlite_store::live_paths() {
  auto* s = prepare("SELECT path FROM files WHERE deleted = 0");
  stmt_guard g{s};
  std::vector<std::string> out;
  while (sqlite3_step(s) == SQLITE_ROW)
    out.push_back(column_text(s, 0));
  return out;
}

core::folder_totals sqlite_store::totals() {
  auto* s = prepare("SELECT SUM(deleted = 0 AND type = 0), SUM(deleted = 0 AND type = 1), "
                    "SUM(CASE WHEN deleted = 0 THEN size ELSE 0 END), SUM(deleted) FROM files");
  stmt_guard g{s};
  core::folder_totals t;
  if (sqlite3_step(s) == SQLITE_ROW) {
    t.files = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
    t.dirs = static_cast<std::uint64_t>(sqlite3_column_int64(s, 1));
    t.bytes = static_cast<std::uint64_t>(sqlite3_column_int64(s, 2));
    t.deleted = static_cast<std::uint64_t>(sqlite3_column_int64(s, 3));
  }
  return t;
}

std::optional<core::local_source> sqlite_store::find_chunk(const core::sha256_digest& hash) {
  auto* s = prepare("SELECT path, offset FROM chunks WHERE hash = ? LIMIT 1");
  stmt_guard g{s};
  bind_blob(s, 1, hash.data(), hash.size());
  if (sqlite3_step(s) != SQLITE_ROW)
    return std::nullopt;
  return core::local_source{column_text(s, 0),
                            static_cast<std::uint64_t>(sqlite3_column_int64(s, 1))};
}

std::vector<core::stored_record> sqlite_store::matching(const std::string& glob,
                                                        std::size_t limit) {
  static const std::string sql =
      std::string("SELECT ") + select_cols + " FROM files WHERE path GLOB ? ORDER BY path LIMIT ?";
  auto* s = prepare(sql.c_str());
  stmt_guard g{s};
  bind_text(s, 1, glob);
  sqlite3_bind_int64(s, 2, static_cast<sqlite3_int64>(limit));
  std::vector<core::stored_record> out;
  while (sqlite3_step(s) == SQLITE_ROW)
    out.push_back(read_row(s));
  return out;
}

} // namespace cascade::io
