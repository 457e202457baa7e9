// The two index stores behind one face, so every contract case runs against both (doctest
// TEST_CASE_TEMPLATE): the SQLite database in a temp dir and core::memory_store. A case that
// fails on one only is a bug in the twin (or a contract the database does not keep).
#pragma once

#include <doctest/doctest.h>

#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "core/memory_store.hpp"
#include "io/store.hpp"

namespace store_test {

using namespace cascade;

// The file size limit (RLIMIT_FSIZE): the kernel refuses to grow a file past it, as ENOSPC
// would (SIGXFSZ ignored), so a full disk needs no mount.
struct fsize_limit {
  rlimit old{};
  explicit fsize_limit(rlim_t bytes) {
    ::signal(SIGXFSZ, SIG_IGN);
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
    rlimit l = old;
    l.rlim_cur = bytes;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &l) == 0);
  }
  ~fsize_limit() { ::setrlimit(RLIMIT_FSIZE, &old); }
};

struct sqlite_kind {
  std::string dir;
  std::unique_ptr<io::sqlite_store> db;
  std::unique_ptr<fsize_limit> full;
  sqlite_kind() {
    dir = (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
    dir += "/cascade-store-test-XXXXXX";
    REQUIRE(::mkdtemp(dir.data()) != nullptr);
    db = std::make_unique<io::sqlite_store>(dir + "/index.db");
  }
  ~sqlite_kind() {
    full.reset();
    db.reset();
    std::filesystem::remove_all(dir);
  }
  core::index_store& store() { return *db; }
  // The disk fills: 64 KiB more of the database file, then writes fail (once the page cache
  // spills, which takes thousands of big records).
  void fill() {
    full = std::make_unique<fsize_limit>(
        static_cast<rlim_t>(std::filesystem::file_size(dir + "/index.db") + (64 << 10)));
  }
  void free_space() { full.reset(); }
};

struct memory_kind {
  core::memory_store db{42};
  core::index_store& store() { return db; }
  void fill() { db.fail_after(100); }
  void free_space() { db.heal(); }
};

} // namespace store_test

TYPE_TO_STRING(store_test::sqlite_kind);
TYPE_TO_STRING(store_test::memory_kind);
