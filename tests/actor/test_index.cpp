// The index actor over the in-memory store (core::memory_store), a real folder in a temp
// directory and no network: local scans reach the store, a store fault that may heal pauses
// writes and resumes them, one that cannot stops the actor. The index is detached (it blocks on
// disk), so CAF's test coordinator cannot step it: these tests run the normal scheduler and
// wait on the actor's answers with deadlines. They form the test suite "caf_threads", which the
// thread-sanitizer run of tools/test leaves out: Debian's libcaf_core is not built with TSAN, so
// it cannot see the atomics that hand a message from one thread's mailbox to another and reports
// every message that crosses threads as a race (CAF's own exit_msg among them).
#include <doctest/doctest.h>

#include <caf/all.hpp>

#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "actors/actors.hpp"
#include "core/memory_store.hpp"
#include "io/folder.hpp"
#include "io/tmp_dir.hpp"

using namespace cascade;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string make_temp_root() {
  std::string tmpl = (fs::temp_directory_path() / "cascade-index-XXXXXX").string();
  REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
  return tmpl;
}

// Declared in destruction order: the actor system (it waits for every actor) goes first.
struct index_fixture {
  std::string root = make_temp_root();
  std::string state = root + "/.cascade";
  bool made_state = fs::create_directories(state);
  io::folder folder{root};
  io::tmp_dir tmp{state + "/tmp"};
  actors::node_context ctx;
  core::memory_store* store = nullptr; // owned by the index; touched only while it is idle
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  actors::scanner_actor scanner;
  actors::index_actor index;

  index_fixture() {
    ::chmod(state.c_str(), 0700);
    ctx.folder = &folder;
    ctx.state_dir = state;
    ctx.marker = state;
    ctx.tmp = &tmp;
    sys = std::make_unique<caf::actor_system>(cfg);
    auto twin = std::make_unique<core::memory_store>();
    store = twin.get();
    scanner = actors::spawn_scanner(*sys, ctx);
    index = actors::spawn_index(*sys, ctx, scanner, std::move(twin));
  }

  ~index_fixture() {
    caf::anon_send_exit(index, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(scanner, caf::exit_reason::user_shutdown);
    index = nullptr; // the system waits until detached actors are destroyed: drop our handles
    scanner = nullptr;
    sys.reset();
    std::error_code ec;
    fs::remove_all(root, ec);
  }

  void write(const std::string& rel, const std::string& content) {
    std::ofstream(root + "/" + rel, std::ios::binary) << content;
  }

  void scan(std::vector<std::string> paths) {
    caf::anon_send(index, actors::scan_atom::value, std::move(paths));
  }

  // The index's totals, or nullopt if it did not answer in time (or is gone).
  std::optional<core::index_summary> summary() {
    caf::scoped_actor self{*sys};
    std::optional<core::index_summary> out;
    self->request(index, 2s, actors::summary_atom::value)
        .receive([&](const core::index_summary& s) { out = s; }, [](caf::error&) {});
    return out;
  }

  std::string status_line() {
    caf::scoped_actor self{*sys};
    std::string out;
    self->request(index, 2s, actors::status_atom::value)
        .receive([&](const core::actor_status& a) { out = a.state; }, [](caf::error&) {});
    return out;
  }

  // Asks until `ok` holds for the answer or `limit` passes.
  template <class Pred> bool wait_until(Pred ok, std::chrono::milliseconds limit = 10s) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (ok())
        return true;
      std::this_thread::sleep_for(20ms);
    }
    return ok();
  }

  bool files_are(std::uint64_t n) {
    auto s = summary();
    return s && s->files == n;
  }
};

} // namespace

TEST_SUITE_BEGIN("caf_threads");

TEST_CASE("index actor: a local file is scanned into the store") {
  index_fixture f;
  f.write("a.txt", "hello");
  f.scan({"a.txt"});
  REQUIRE(f.wait_until([&] { return f.files_are(1); }));
  auto r = f.store->get("a.txt");
  REQUIRE(r);
  CHECK(r->record.size == 5);
  CHECK(!r->record.deleted);
}

TEST_CASE("index actor: a store fault that may heal pauses writes, then they resume") {
  index_fixture f;
  f.write("a.txt", "one");
  f.scan({"a.txt"});
  REQUIRE(f.wait_until([&] { return f.files_are(1); }));
  f.store->fail_next_commit(true); // the index is idle: it answered
  f.write("b.txt", "two");
  f.scan({"b.txt"});
  REQUIRE(f.wait_until([&] { return f.status_line().find("WRITES PAUSED") != std::string::npos; }));
  CHECK(!f.store->get("b.txt")); // rolled back, not lost: pending
  f.store->heal();
  // The retry (1 s after the fault) walks the folder again and records what was pending.
  REQUIRE(f.wait_until([&] { return f.files_are(2); }));
  CHECK(f.store->get("b.txt"));
  CHECK(f.status_line().find("WRITES PAUSED") == std::string::npos);
}

TEST_CASE("index actor: a store fault that cannot heal stops it") {
  index_fixture f;
  f.write("a.txt", "one");
  f.scan({"a.txt"});
  REQUIRE(f.wait_until([&] { return f.files_are(1); }));
  caf::scoped_actor self{*f.sys};
  self->monitor(f.index);
  f.store->fail_next_commit(false); // a corrupt database
  f.write("b.txt", "two");
  f.scan({"b.txt"});
  bool down = false;
  self->receive(
      [&](caf::down_msg& m) {
        down = true;
        CHECK(m.reason != caf::exit_reason::normal); // the guardian stops the node on it
      },
      caf::after(10s) >> [] {});
  CHECK(down);
}

TEST_SUITE_END();
