// The index actor under CAF's test coordinator (time moves only when the test says so), over
// the in-memory store (core::memory_store), no network, and a real folder in a temp directory:
// the index's own reads of the folder are the openat2 calls that keep peers' names beneath its
// root, which a fake would not test. Local scans reach the store; a store fault that may heal
// pauses writes and resumes them on the retry a second later; one that cannot stops the actor;
// a peer's batch counts only where it continues what the index has read of that peer; an upload
// whose peer takes nothing is ended by the index's ticks, and its slot freed.
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
#include "core/partials.hpp"
#include "fake_transport.hpp"
#include "file_helpers.hpp"
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
  test::fake_transport net;
  core::partial_files partials;
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
    ctx.net = &net;
    ctx.partials = &partials;
    ctx.self = test::device(1);
    ctx.self_short = core::short_of(ctx.self);
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
  // Lets `d` pass in steps of `step`, delivering everything due at each.
  void pass(std::chrono::milliseconds d, std::chrono::milliseconds step = 10ms) {
    for (auto t = 0ms; t < d; t += step) {
      sched->advance_time(step);
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

  // What the index answers a peer's batch: (recorded, need_full), nullopt if nothing.
  std::optional<std::pair<bool, bool>> update(rpc::session_id s, std::vector<rpc::wire_entry> e,
                                              std::uint64_t from, std::uint64_t last) {
    auto out = std::make_shared<std::optional<std::pair<bool, bool>>>();
    sys->spawn([i = index, s, e = std::move(e), from, last, out](caf::event_based_actor* asker) {
      asker->request(i, caf::infinite, actors::update_atom::value, s, e, from, last)
          .then([out](bool ok, bool need_full) { *out = std::make_pair(ok, need_full); });
    });
    settle();
    return *out;
  }

  std::pair<std::uint64_t, std::uint64_t> progress(const core::device_id& d) {
    auto out = std::make_shared<std::pair<std::uint64_t, std::uint64_t>>();
    sys->spawn([i = index, d, out](caf::event_based_actor* asker) {
      asker->request(i, caf::infinite, actors::progress_atom::value, d)
          .then([out](std::uint64_t epoch, std::uint64_t seq) { *out = {epoch, seq}; });
    });
    settle();
    return *out;
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

namespace {

// A small file as a peer announces it: its record with the data inline.
rpc::wire_entry inline_entry(const std::string& path, unsigned seed) {
  auto bytes = test::random_bytes(1000, seed);
  rpc::wire_entry e;
  e.record = test::record_of(bytes);
  e.record.path = path;
  e.record.version = core::version_vector({{0xB2, seed}});
  e.has_data = true;
  e.data.assign(bytes.begin(), bytes.end());
  return e;
}

} // namespace

// A session up with a peer actor that absorbs what the index tells it (changed, down).
caf::actor session_up(index_fixture& f, const core::device_id& device) {
  auto stand_in = f.sys->spawn([]() -> caf::behavior { return {[](actors::changed_atom) {}}; });
  rpc::session_info info;
  info.id = 7;
  info.device = device;
  info.epoch = 42;
  caf::anon_send(f.index, actors::up_atom::value, info,
                 caf::actor_cast<actors::peer_actor>(stand_in));
  f.settle();
  return stand_in;
}

TEST_CASE("index actor: a peer's batch counts only where it continues what was read of it") {
  index_fixture f;
  auto peer_device = test::device(2);
  auto stand_in = session_up(f, peer_device);

  CHECK(f.update(7, {inline_entry("a.bin", 1)}, 0, 10) == std::make_pair(true, false));
  CHECK(f.progress(peer_device) == std::make_pair(std::uint64_t{42}, std::uint64_t{10}));
  CHECK(fs::exists(f.root + "/a.bin"));
  // Past what was read (a batch pipelined behind one this node refused): nothing is taken.
  CHECK(f.update(7, {inline_entry("b.bin", 2)}, 20, 30) == std::make_pair(false, false));
  CHECK(!f.store->get("b.bin"));
  CHECK(!fs::exists(f.root + "/b.bin"));
  CHECK(f.progress(peer_device).second == 10);
  // A delta without its base: the rest is taken, the progress stays, so the batch pipelined
  // behind it is refused until the whole batch comes again.
  auto delta = inline_entry("c.bin", 3);
  delta.has_data = false;
  delta.data.clear();
  delta.delta = core::chunk_delta{core::version_vector({{0xB2, 99}}), {}};
  CHECK(f.update(7, {delta, inline_entry("d.bin", 4)}, 10, 20) == std::make_pair(true, true));
  CHECK(f.progress(peer_device).second == 10);
  CHECK(f.store->get("d.bin"));
  CHECK(f.update(7, {inline_entry("e.bin", 5)}, 20, 30) == std::make_pair(false, false));
  CHECK(!f.store->get("e.bin"));
  CHECK(f.update(7, {inline_entry("c.bin", 3), inline_entry("d.bin", 4)}, 10, 20) ==
        std::make_pair(true, false));
  CHECK(f.update(7, {inline_entry("e.bin", 5)}, 20, 30) == std::make_pair(true, false));
  CHECK(f.progress(peer_device).second == 30);
  CHECK(fs::exists(f.root + "/c.bin"));
  CHECK(fs::exists(f.root + "/e.bin"));
  // A batch from behind what was read (the peer started again from an older point) is taken.
  CHECK(f.update(7, {inline_entry("a.bin", 1)}, 0, 10) == std::make_pair(true, false));
  CHECK(f.progress(peer_device).second == 10);
  caf::anon_send_exit(stand_in, caf::exit_reason::user_shutdown);
}

TEST_CASE("index actor: an upload whose peer takes nothing is ended by the index's ticks") {
  index_fixture f;
  auto stand_in = session_up(f, test::device(2));
  // More than an upload's window (4 MiB): it waits for the peer to take frames before it can
  // push the rest (a smaller file is handed to the network whole, and its upload is done).
  auto bytes = test::random_bytes(6 * test::frame, 8);
  f.write("big.bin", std::string(bytes.begin(), bytes.end()));
  f.scan({"big.bin"});
  REQUIRE(f.net.offers.size() == 1);
  auto offer = f.net.offers[0];
  offer.observer->on_answer(true); // the peer takes the offer, then reads nothing
  f.settle();
  REQUIRE(f.net.push_frames[offer.id] >= 4);
  CHECK(f.net.push_frames[offer.id] < 6);
  auto uploads = [&] {
    auto c = f.ask<std::vector<actors::status_actor>>(actors::children_atom::value);
    REQUIRE(c);
    return c->size();
  };
  CHECK(uploads() == 1);
  // Nothing comes from the network now: only the index's tick (every second) lets the upload
  // judge its peer, by the relay's rules (core::downstream_pace): over 4 MiB behind and
  // nothing taken over a whole window (1.5 s) hands it to repair.
  f.pass(1000ms, 250ms);
  CHECK(f.net.finished_pushes.count(offer.id) == 0);
  CHECK(uploads() == 1);
  f.pass(1000ms, 250ms);
  REQUIRE(f.net.finished_pushes.count(offer.id) == 1);
  CHECK(f.net.finished_pushes[offer.id].find("fell far behind") != std::string::npos);
  CHECK(uploads() == 0); // its slot is free
  caf::anon_send_exit(stand_in, caf::exit_reason::user_shutdown);
}
