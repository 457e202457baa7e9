// node: the command line, start-up in order, and a clean stop on SIGINT/SIGTERM.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mutex>
#include <thread>

#include "actors/actors.hpp"
#include "app/cli.hpp"
#include "app/console.hpp"
#include "app/deny.hpp"
#include "app/keys.hpp"
#include "core/device_id.hpp"
#include "core/transfer_slots.hpp"
#include "io/folder.hpp"
#include "io/log.hpp"
#include "io/mdns.hpp"
#include "io/store.hpp"
#include "io/tmp_dir.hpp"
#include "io/versions.hpp"
#include "io/watcher.hpp"
#include "rpc/console_server.hpp"
#include "rpc/network.hpp"

namespace cascade::app {

namespace {

// Creates `path` and its missing parents; the last one, if new, gets `mode`.
bool make_dirs(const std::string& path, mode_t mode = 0755) {
  std::string cur;
  for (std::size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || (path[i] == '/' && i > 0)) {
      cur = path.substr(0, i);
      if (::mkdir(cur.c_str(), i == path.size() ? mode : 0755) != 0 && errno != EEXIST)
        return false;
    }
  }
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The marker, our default state directory, is private (0700; older versions made it 0755:
// every local user could read index.db, the list of the folder's files). It is changed through
// a descriptor opened O_NOFOLLOW, so a symlink in its place is refused, never followed.
void make_private(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) {
    std::cerr << "node: refusing to start: " << path << " is "
              << (errno == ELOOP ? std::string("a symlink, not a directory")
                                 : std::string("unusable: ") + std::strerror(errno))
              << "; make it a plain directory\n";
    std::exit(1);
  }
  if ((st.st_mode & 077) != 0 && ::fchmod(fd, 0700) != 0)
    io::log_warn("cannot make " + path + " private: " + std::strerror(errno));
  ::close(fd);
}

std::string absolute(const std::string& p) {
  char buf[PATH_MAX];
  if (::realpath(p.c_str(), buf))
    return buf;
  return p;
}

struct paths {
  std::string dir, state, marker;
};

// Creates the folder, its marker and the state directory; exits 2 on failure.
paths prepare(const std::string& dir, const std::optional<std::string>& state) {
  paths p;
  if (!make_dirs(dir)) {
    std::cerr << "node: cannot create folder " << dir << ": " << std::strerror(errno) << "\n";
    std::exit(2);
  }
  p.dir = absolute(dir);
  p.marker = p.dir + "/.cascade";
  if (!make_dirs(p.marker, 0700)) {
    std::cerr << "node: cannot create " << p.marker << ": " << std::strerror(errno) << "\n";
    std::exit(2);
  }
  make_private(p.marker);
  p.state = state ? *state : p.marker;
  if (!make_dirs(p.state, 0700)) {
    std::cerr << "node: cannot create state directory " << p.state << ": " << std::strerror(errno)
              << "\n";
    std::exit(2);
  }
  p.state = absolute(p.state);
  return p;
}

// `--deny ID...`: records the ids; a running node applies them within a second.
int run_deny(const run_options& o) {
  auto p = prepare(o.dir, o.state);
  std::vector<core::device_id> ids;
  for (auto& text : o.deny) {
    auto id = core::parse_device_id(text);
    if (!id) {
      std::cerr << "node: --deny: '" << text << "' is not a device id\n";
      return 2;
    }
    ids.push_back(*id);
  }
  try {
    for (auto& id : ids) {
      append_denied(p.state, id);
      std::cout << "denied " << core::format_device_id(id) << "\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "node: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

// Applies the deny list now and whenever it changes (checked every second).
struct deny_watch {
  std::string state;
  rpc::network* net;
  std::size_t applied = 0;
  uv_timer_t timer{};

  void check() {
    auto ids = read_denied(state);
    for (std::size_t i = applied; i < ids.size(); ++i) {
      io::log_warn("device " + core::format_device_id(ids[i]) + " is denied: dropping it");
      net->deny(ids[i]);
    }
    applied = std::max(applied, ids.size());
  }
};

// The guardian's report lands here: one line, then the loop stops and the node exits 1.
struct node_guard final : actors::guard_hooks {
  mutable std::mutex mutex;
  bool stop = false;
  bool failed_ = false;
  uv_async_t wake{};

  bool stopping() const override {
    std::lock_guard lock(mutex);
    return stop;
  }
  void failed(const std::string& line) override {
    std::lock_guard lock(mutex);
    if (stop || failed_)
      return;
    failed_ = true;
    io::log_error(line + "; stopping the node (exit 1)");
    uv_async_send(&wake);
  }
  void begin_stop() {
    std::lock_guard lock(mutex);
    stop = true;
  }
  bool has_failed() const {
    std::lock_guard lock(mutex);
    return failed_;
  }
};

// Test-only: CASCADE_TEST_FAIL_ACTOR=NAME ends that actor with an error 300 ms after start, as
// an unhandled exception would (tests/integration/test_shutdown.py, the guardian's case).
struct test_failure {
  std::vector<std::pair<std::string, actors::status_actor>> actors;
  uv_timer_t timer{};
};

// SIGINT and SIGTERM, blocked from the start of run_node until the loop's handlers are in place:
// every thread started meanwhile inherits the mask, so a stop asked for during start-up waits
// for the handlers (a clean stop, exit 0) instead of killing the process, and only the main
// thread ever takes them.
sigset_t stop_signals() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGTERM);
  return s;
}

int run_node(const run_options& o) {
  if (!o.deny.empty())
    return run_deny(o);
  const sigset_t stops = stop_signals();
  pthread_sigmask(SIG_BLOCK, &stops, nullptr);
  io::set_log_level(static_cast<io::level>(o.level));
  auto p = prepare(o.dir, o.state);
  std::optional<io::tmp_dir> tmp; // checked before anything is written or cleaned in it
  // In the marker, not the state directory: on the folder's file system (a rename, not a copy).
  std::optional<io::versions_dir> versions;
  try {
    tmp.emplace(p.state + "/tmp");
    versions.emplace(p.marker + "/versions");
  } catch (const std::exception& e) {
    std::cerr << "node: " << e.what() << "\n";
    return 1;
  }
  std::string key;
  identity me;
  try {
    bool created = false;
    key = resolve_group_key(o.key, o.key_file, p.state, created);
    if (created)
      io::log_info("made a new group key; on other machines join with: node --dir DIR --key " +
                   key);
    me = load_or_create_identity(p.state);
  } catch (const std::invalid_argument& e) {
    std::cerr << "node: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "node: " << e.what() << "\n";
    return 1;
  }
  io::folder folder(p.dir);
  io::ignore_rules ignores(folder); // before any walk or watch: ignored trees are never entered
  ignores.reload();
  folder.skip_in_walks(
      [&ignores](std::string_view rel, bool is_dir) { return ignores.ignored(rel, is_dir); });
  // The debug console's socket exists, mode 0600, before any thread does (its bind narrows the
  // process-wide umask); it is served once the actors run.
  rpc::console_server console(p.state + "/console.sock");
  bool console_bound = true;
  try {
    console.bind();
  } catch (const std::exception& e) {
    io::log_warn(std::string("no debug console: ") + e.what());
    console_bound = false;
  }

  core::partial_files partials; // outlives the actors and the network (declared first)
  caf::actor_system_config cfg;
  // Scheduler workers run the thin actors; blocking file I/O runs in detached actors, bounded
  // by the transfer slots (core::transfer_slots).
  cfg.set("scheduler.max-threads",
          static_cast<std::int64_t>(std::clamp(std::thread::hardware_concurrency(), 2u, 8u)));
  // Idle workers wait on a condition variable: the default work-stealing policy polls with
  // 50 us sleeps, which took a quarter of a busy node's samples (perf, 10,000-file burst).
  cfg.set("scheduler.policy", caf::atom("sharing"));
  caf::actor_system sys{cfg};

  io::disk_space files(folder, *tmp);
  actors::node_context ctx;
  ctx.folder = &folder;
  ctx.files = &files;
  ctx.ignores = &ignores;
  ctx.partials = &partials;
  ctx.state_dir = p.state;
  ctx.tmp = &*tmp;
  ctx.versions = &*versions;
  ctx.keep_versions_s = std::int64_t{o.keep_versions} * 86400;
  if (o.versions_max_mib)
    ctx.versions_cap = std::uint64_t{*o.versions_max_mib} << 20;
  if (o.mode)
    ctx.mode = core::parse_folder_mode(*o.mode); // checked by the command line parser
  ctx.marker = p.marker;
  ctx.self = me.id;
  ctx.self_short = core::short_of(me.id);
  ctx.max_transfers = o.max_transfers != 0
                          ? o.max_transfers
                          : core::transfer_slots::default_size(std::thread::hardware_concurrency());

  auto scanner = actors::spawn_scanner(sys, ctx);
  actors::index_actor index;
  try {
    index = actors::spawn_index(sys, ctx, scanner, io::open_index_store(p.state + "/index.db"));
  } catch (const std::exception& e) {
    std::cerr << "node: " << e.what() << "\n";
    caf::anon_send_exit(scanner, caf::exit_reason::user_shutdown);
    return 1;
  }
  auto supervisor = actors::spawn_supervisor(sys);
  auto listener = actors::make_listener(sys, ctx, supervisor, index);
  rpc::network_config ncfg;
  ncfg.listen_addr = o.listen;
  ncfg.port = o.port;
  ncfg.self = me.id;
  ncfg.private_key_pem = me.private_pem;
  ncfg.group_key = key;
  ncfg.folder = &folder;
  ncfg.partials = &partials;
  ncfg.denied = read_denied(p.state);
  rpc::network net(ncfg, *listener);
  ctx.net = &net;
  auto watcher_actor = actors::spawn_watcher(sys, index, &ctx);
  auto stop_actors = [&] {
    caf::anon_send_exit(watcher_actor, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(supervisor, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(index, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(scanner, caf::exit_reason::user_shutdown);
  };

  std::uint16_t port = 0;
  try {
    port = net.start();
  } catch (const std::exception& e) {
    std::cerr << "node: " << e.what() << "\n";
    stop_actors();
    return 1;
  }
  io::log_info("device " + core::format_device_id(me.id) + " syncing " + p.dir + ", listening on " +
               o.listen + ":" + std::to_string(port));

  uv_loop_t loop;
  uv_loop_init(&loop);
  auto guard = std::make_shared<node_guard>();
  uv_async_init(&loop, &guard->wake, [](uv_async_t* a) { uv_stop(a->loop); });
  io::fs_watcher watcher(
      &loop, folder,
      [&](std::vector<io::watch_event> ev) {
        caf::anon_send(watcher_actor, actors::fs_events_atom::value, std::move(ev));
      },
      [&] {
        io::log_warn("the watcher lost events (kernel queue overflow); rescanning");
        caf::anon_send(watcher_actor, actors::overflow_atom::value);
      });
  watcher.use_ignores(&ignores, [&] { caf::anon_send(index, actors::ignores_atom::value); });
  watcher.on_unwatched([&](std::vector<std::string> roots) {
    caf::anon_send(watcher_actor, actors::unwatched_atom::value, std::move(roots));
  });
  std::unique_ptr<io::mdns> mdns;
  actors::discovery_actor discovery;
  if (o.discovery) {
    discovery = actors::spawn_discovery(sys, ctx, group_tag(key));
    auto id = core::format_device_id(me.id);
    io::mdns_callbacks cb;
    cb.found = [discovery](const io::mdns_service& s) {
      caf::anon_send(discovery, actors::found_atom::value, s);
    };
    cb.removed = [discovery](const std::string& name) {
      caf::anon_send(discovery, actors::lost_atom::value, name);
    };
    cb.log = [](int level, const std::string& line) {
      io::log(static_cast<io::level>(level), line);
    };
    mdns = std::make_unique<io::mdns>(
        "_cascade._tcp", "cascade-" + id.substr(0, 7), port,
        std::vector<std::string>{"id=" + id, "g=" + group_tag(key),
                                 "v=" + std::to_string(rpc::protocol_version())},
        std::move(cb));
    mdns->start();
  }
  ctx.fs = &watcher;
  auto console_actor = actors::spawn_console(
      sys, ctx, {watcher_actor, index, scanner, supervisor, discovery}, group_tag(key));
  actors::console_hooks hooks;
  hooks.deny = [&p, &net, self = me.id](const core::device_id& id) {
    if (id == self)
      throw std::invalid_argument("that is this node's own device id");
    append_denied(p.state, id); // as `node --deny` does; the deny watch then sees it too
    net.deny(id);
    io::log_warn("device " + core::format_device_id(id) + " is denied (console): dropping it");
  };
  std::vector<std::pair<std::string, actors::status_actor>> long_lived = {
      {"watcher", watcher_actor}, {"scanner", scanner},     {"index", index},
      {"supervisor", supervisor}, {"discovery", discovery}, {"console", console_actor}};
  auto guardian = actors::spawn_guardian(sys, long_lived, guard);
  test_failure fail_test{long_lived};
  if (const char* victim = std::getenv("CASCADE_TEST_FAIL_ACTOR")) {
    fail_test.actors.erase(std::remove_if(fail_test.actors.begin(), fail_test.actors.end(),
                                          [&](auto& a) { return a.first != victim; }),
                           fail_test.actors.end());
    uv_timer_init(&loop, &fail_test.timer);
    fail_test.timer.data = &fail_test;
    uv_timer_start(
        &fail_test.timer,
        [](uv_timer_t* t) {
          for (auto& [name, a] : static_cast<test_failure*>(t->data)->actors)
            caf::anon_send_exit(a, caf::exit_reason::unhandled_exception);
        },
        300, 0);
  }
  auto console_backend = actors::make_console_backend(console_actor, std::move(hooks));
  if (console_bound)
    console.start(*console_backend);
  std::string err;
  if (!watcher.start(err))
    io::log_warn(err + "; changes are found by rescans only");
  caf::anon_send(index, actors::rescan_atom::value);
  // The deny list first: its devices are refused before any dial or accept can reach them.
  deny_watch denials{p.state, &net};
  denials.check();
  for (auto& peer : o.peers)
    net.dial(peer.host, peer.port);
  uv_timer_init(&loop, &denials.timer);
  denials.timer.data = &denials;
  uv_timer_start(
      &denials.timer, [](uv_timer_t* t) { static_cast<deny_watch*>(t->data)->check(); }, 1000,
      1000);

  uv_signal_t sigint, sigterm;
  uv_signal_init(&loop, &sigint);
  uv_signal_init(&loop, &sigterm);
  auto on_signal = [](uv_signal_t* h, int signum) {
    io::log_info(std::string("stopping on ") + (signum == SIGINT ? "SIGINT" : "SIGTERM"));
    uv_stop(h->loop);
  };
  uv_signal_start(&sigint, on_signal, SIGINT);
  uv_signal_start(&sigterm, on_signal, SIGTERM);
  pthread_sigmask(SIG_UNBLOCK, &stops, nullptr); // one that came meanwhile is handled now
  uv_run(&loop, UV_RUN_DEFAULT);

  guard->begin_stop(); // from here on, actors ending is what we asked for
  console.stop();      // first: no question reaches actors that are stopping
  watcher.stop();
  uv_close(reinterpret_cast<uv_handle_t*>(&guard->wake), nullptr);
  if (fail_test.timer.loop)
    uv_close(reinterpret_cast<uv_handle_t*>(&fail_test.timer), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&denials.timer), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&sigint), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&sigterm), nullptr);
  uv_run(&loop, UV_RUN_NOWAIT);
  uv_loop_close(&loop);
  mdns.reset(); // withdraws our service
  net.stop();
  stop_actors();
  if (discovery)
    caf::anon_send_exit(discovery, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(console_actor, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(guardian, caf::exit_reason::user_shutdown);
  sys.await_all_actors_done();
  if (guard->has_failed())
    return 1; // the guardian's line said why
  io::log_info("stopped cleanly");
  return 0;
}

int run_id(const id_command& c) {
  auto p = prepare(c.dir, c.state);
  try {
    std::cout << core::format_device_id(load_or_create_identity(p.state).id) << "\n";
  } catch (const std::exception& e) {
    std::cerr << "node: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto cmd = parse_command_line(args);
  if (auto* u = std::get_if<usage_error>(&cmd)) {
    std::cerr << "node: " << u->message << "\n";
    return 2;
  }
  if (auto* h = std::get_if<help_command>(&cmd)) {
    std::cout << h->text;
    return 0;
  }
  if (auto* v = std::get_if<version_command>(&cmd)) {
    std::cout << v->text;
    return 0;
  }
  if (std::holds_alternative<keygen_command>(cmd)) {
    std::cout << generate_group_key() << "\n";
    return 0;
  }
  if (auto* i = std::get_if<id_command>(&cmd))
    return run_id(*i);
  if (auto* c = std::get_if<console_command>(&cmd))
    return run_console(*c);
  return run_node(std::get<run_options>(cmd));
}

} // namespace cascade::app

int main(int argc, char** argv) {
  return cascade::app::main(argc, argv);
}
