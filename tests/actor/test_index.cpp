// The index actor under CAF's test coordinator (time moves only when the test says so), over
// the in-memory store (core::memory_store), no network, and a real folder in a temp directory:
// the index's own reads of the folder are the openat2 calls that keep peers' names beneath its
// root, which a fake would not test. Local scans reach the store; a store fault that may heal
// pauses writes and resumes them on the retry a second later; one that cannot stops the actor.
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

// Declared in destruction order: the actor system goes first.
struct index_fixture {
  std::string root = make_temp_root();
  std::string state = root + "/.cascade";
  bool made_state = fs::create_directories(state);
  io::folder folder{root};
  io::tmp_dir tmp{state + "/tmp"};
  io::disk_space files{folder, tmp};
  actors::node_context ctx;
  core::memory_store* store = nullptr; // owned by the index; touched only between steps
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  actors::scanner_actor scanner;
  actors::index_actor index;

  index_fixture() {
    ::chmod(state.c_str(), 0700);
    ctx.folder = &folder;
    ctx.state_dir = state;
    ctx.marker = state;
    ctx.tmp = &tmp;
    ctx.files = &files;
    ctx.detach_io = false;
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.verbosity", caf::atom("quiet"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    auto twin = std::make_unique<core::memory_store>();
    store = twin.get();
    scanner = actors::spawn_scanner(*sys, ctx);
    index = actors::spawn_index(*sys, ctx, scanner, std::move(twin));
    settle();
  }

  ~index_fixture() {
    caf::anon_send_exit(index, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(scanner, caf::exit_reason::user_shutdown);
    settle();
    index = nullptr;
    scanner = nullptr;
    sys.reset();
    std::error_code ec;
    fs::remove_all(root, ec);
  }

  // Delivers every message, and every timer due now (no time passes).
  void settle() {
    do
      sched->run();
    while (sched->advance_time(std::chrono::nanoseconds(0)) > 0);
  }
  // Lets `d` pass in steps of 10 ms, delivering everything due at each.
  void pass(std::chrono::milliseconds d) {
    for (auto t = 0ms; t < d; t += 10ms) {
      sched->advance_time(10ms);
      settle();
    }
  }

  void write(const std::string& rel, const std::string& content) {
    std::ofstream(root + "/" + rel, std::ios::binary) << content;
  }

  void scan(std::vector<std::string> paths) {
    caf::anon_send(index, actors::scan_atom::value, std::move(paths));
    settle();
  }

  // What the index answers `x`, or nullopt if it does not (it is gone).
  template <class T, class Atom> std::optional<T> ask(Atom x) {
    auto out = std::make_shared<std::optional<T>>();
    sys->spawn([i = index, x, out](caf::event_based_actor* asker) {
      asker->request(i, caf::infinite, x).then([out](const T& v) { *out = v; },
                                               [](caf::error&) {});
    });
    settle();
    return *out;
  }

  std::uint64_t files_indexed() {
    auto s = ask<core::index_summary>(actors::summary_atom::value);
    REQUIRE(s);
    return s->files;
  }

  std::string status_line() {
    auto a = ask<core::actor_status>(actors::status_atom::value);
    return a ? a->state : "";
  }
};

} // namespace

TEST_CASE("index actor: a local file is scanned into the store") {
  index_fixture f;
  f.write("a.txt", "hello");
  f.scan({"a.txt"});
  CHECK(f.files_indexed() == 1); // no time passed: the scan went straight through
  auto r = f.store->get("a.txt");
  REQUIRE(r);
  CHECK(r->record.size == 5);
  CHECK(!r->record.deleted);
}

TEST_CASE("index actor: a small file's record carries its data, unless it changed since") {
  index_fixture f;
  std::string content(100 * 1024, 'x'); // under the inline limit
  f.write("small.bin", content);
  f.scan({"small.bin"});
  auto get = [&] {
    auto out = std::make_shared<std::optional<std::vector<rpc::wire_entry>>>();
    f.sys->spawn([i = f.index, out](caf::event_based_actor* asker) {
      core::device_id peer{};
      peer.fill(9);
      asker->request(i, caf::infinite, actors::get_atom::value, std::uint64_t{0}, peer, true)
          .then([out](std::vector<rpc::wire_entry>& e, std::uint64_t) { *out = std::move(e); });
    });
    f.settle();
    REQUIRE(out->has_value());
    REQUIRE((*out)->size() == 1);
    return (**out)[0];
  };
  auto e = get();
  CHECK(e.record.path == "small.bin");
  CHECK(e.has_data);
  CHECK((e.data == content));
  // Rewritten after it was recorded, not scanned yet: the old record goes without data.
  f.write("small.bin", std::string(100 * 1024, 'y'));
  auto again = get();
  CHECK(!again.has_data);
  CHECK(again.data.empty());
}

TEST_CASE("index actor: a store fault that may heal pauses writes, then they resume") {
  index_fixture f;
  f.write("a.txt", "one");
  f.scan({"a.txt"});
  REQUIRE(f.files_indexed() == 1);
  f.store->fail_next_commit(true);
  f.write("b.txt", "two");
  f.scan({"b.txt"});
  CHECK(f.status_line().find("WRITES PAUSED") != std::string::npos);
  CHECK(!f.store->get("b.txt")); // rolled back, not lost: pending
  f.store->heal();
  f.pass(900ms);
  CHECK(f.files_indexed() == 1); // the retry waits its second
  // The retry (1 s after the fault) walks the folder again and records what was pending.
  f.pass(200ms);
  CHECK(f.files_indexed() == 2);
  CHECK(f.store->get("b.txt"));
  CHECK(f.status_line().find("WRITES PAUSED") == std::string::npos);
}

TEST_CASE("index actor: a store fault that cannot heal stops it") {
  index_fixture f;
  f.write("a.txt", "one");
  f.scan({"a.txt"});
  REQUIRE(f.files_indexed() == 1);
  auto down = std::make_shared<std::optional<caf::error>>();
  auto watcher = f.sys->spawn([i = f.index, down](caf::event_based_actor* self) -> caf::behavior {
    self->monitor(i);
    self->set_down_handler([down](caf::down_msg& m) { *down = m.reason; });
    return {[](int) {}}; // stays alive for the down message
  });
  f.settle();
  f.store->fail_next_commit(false); // a corrupt database
  f.write("b.txt", "two");
  f.scan({"b.txt"});
  REQUIRE(down->has_value());
  CHECK(**down != caf::exit_reason::normal); // the guardian stops the node on it
  CHECK(!f.ask<core::index_summary>(actors::summary_atom::value)); // it answers nothing more
  caf::anon_send_exit(watcher, caf::exit_reason::user_shutdown);
}
