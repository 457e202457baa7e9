// The console actor: answers the debug console server's questions by asking the actors that
// know (each about itself), the index and the network, every question with a deadline, so a
// busy actor shows as "no answer" instead of stalling the console.
//
// Bridge (console server thread -> CAF): the server calls console_backend::ask, which posts
// ask(query, reply) here with anon_send and returns; `reply` (console_reply_to, a value holding
// the server's reply object) fulfils a KJ cross-thread promise on the server's loop. Nothing
// blocks: not this actor (the scheduler's threads stay free), not the console thread (other clients
// and `top` keep being served while a sweep waits).
#include <algorithm>
#include <chrono>
#include <map>
#include <memory>

#include "actors/actors.hpp"
#include "io/log.hpp"

namespace cascade::actors {

namespace {

using reply_fn = console_reply_to;

constexpr auto ask_timeout = std::chrono::milliseconds(1500);
constexpr auto rescan_timeout = std::chrono::seconds(120);

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Everything one sweep gathered; `finish` runs once, when the last answer (or deadline) is in.
struct sweep {
  std::size_t pending = 1;             // one for the sweep being set up
  std::vector<core::actor_status> top; // node, watcher, index, scanner, discovery, console
  std::vector<core::actor_status> peers, transfers;
  std::optional<core::index_summary> index;
  std::optional<std::vector<core::peer_status>> net;
  std::vector<std::pair<core::device_id, std::string>> errors;
  std::function<void(sweep&)> finish;

  void done() {
    if (--pending == 0 && finish) {
      auto f = std::move(finish);
      f(*this);
    }
  }
};

core::actor_status no_answer(std::string kind, std::string name) {
  auto s = core::status_of(std::move(kind), std::move(name), 0);
  s.answered = false;
  s.state = "no answer within " + std::to_string(ask_timeout.count()) + " ms (busy or stopping)";
  return s;
}

struct console_state {
  static inline const char* name = "console";
  std::int64_t started_ns = steady_ns();
  std::uint64_t served = 0;
  std::uint64_t next_snapshot = 1;
  std::map<std::uint64_t, std::shared_ptr<sweep>> snapshots; // waiting for the network
};

using self_ptr = console_actor::stateful_pointer<console_state>;

// --- building answers from a sweep ---

std::string session_device(const sweep& sw, std::uint64_t session) {
  if (sw.net)
    for (auto& p : *sw.net)
      if (p.session == session && p.device)
        return core::format_device_id(*p.device);
  return {};
}

std::vector<core::actor_status> all_actors(const sweep& sw) {
  std::vector<core::actor_status> out;
  for (auto& a : sw.top)
    if (!a.kind.empty())
      out.push_back(a);
  out.insert(out.end(), sw.peers.begin(), sw.peers.end());
  for (auto a : sw.transfers) {
    if (a.transfer && a.transfer->upstream.empty())
      a.transfer->upstream = session_device(sw, a.transfer->upstream_session);
    out.push_back(std::move(a));
  }
  return out;
}

std::vector<core::peer_status> all_peers(const sweep& sw) {
  std::vector<core::peer_status> out = sw.net.value_or(std::vector<core::peer_status>{});
  auto row_of = [&](const core::device_id& d) -> core::peer_status* {
    for (auto& p : out)
      if (p.device == d)
        return &p;
    return nullptr;
  };
  // Why a device's last session ended, for devices not connected now (a connected one's
  // earlier session may just have been the losing twin of a simultaneous dial).
  for (auto& [dev, reason] : sw.errors) {
    auto* row = row_of(dev);
    if (row && row->state == "connected")
      continue;
    if (!row) {
      out.push_back({});
      row = &out.back();
      row->device = dev;
      row->state = "disconnected";
    }
    if (row->last_error.empty())
      row->last_error = reason;
  }
  if (sw.index)
    for (auto& [dev, lat] : sw.index->latency_by_peer) {
      auto* row = row_of(dev);
      if (!row) {
        out.push_back({});
        row = &out.back();
        row->device = dev;
        row->state = "disconnected";
      }
      row->latency = lat;
    }
  std::stable_sort(out.begin(), out.end(), [](auto& a, auto& b) {
    auto rank = [](const core::peer_status& p) {
      return p.state == "connected" ? 0 : p.state == "dialing" ? 1 : 2;
    };
    if (rank(a) != rank(b))
      return rank(a) < rank(b);
    return a.device < b.device;
  });
  return out;
}

core::node_status node_status(const sweep& sw, const node_context* ctx, const std::string& group,
                              std::int64_t started_ns) {
  core::node_status s;
  s.device_id = core::format_device_id(ctx->self);
  s.group = group;
  s.folder = ctx->folder->root();
  s.state_dir = ctx->state_dir;
  s.uptime_ns = steady_ns() - started_ns;
  s.log_level = io::level_name(io::log_level());
  if (sw.index)
    s.index = *sw.index;
  s.faults = s.index.faults;
  for (auto& a : sw.top)
    if (a.kind == "watcher") {
      s.watcher_pending = a.counter("pending");
      if (auto n = a.counter("unwatched"))
        s.faults.push_back({"unwatched",
                            std::to_string(n) +
                                " directories have no inotify watch (over "
                                "fs.inotify.max_user_watches): their changes are found by a "
                                "rescan every " +
                                std::to_string(io::fs_watcher::rescan_interval_s) + " s",
                            static_cast<std::int64_t>(a.counter("unwatched_since_ns")), n});
    }
  std::stable_sort(s.faults.begin(), s.faults.end(),
                   [](auto& x, auto& y) { return x.since_ns < y.since_ns; });
  for (auto& p : sw.peers) {
    if (!p.answered)
      continue;
    ++s.peers_connected;
    if (p.counter("subscribed") == 0 || p.counter("sent_up_to") < s.index.sequence)
      ++s.peers_behind;
  }
  bool watcher_answered = std::any_of(sw.top.begin(), sw.top.end(),
                                      [](auto& a) { return a.kind == "watcher" && a.answered; });
  auto& i = s.index;
  // A send-only folder's needed records are never applied (console `out-of-sync`).
  s.in_sync = sw.index && watcher_answered && !i.halted && !i.paused &&
              (i.needed_files == 0 || i.mode == "send-only") && i.transfers == 0 &&
              i.waiting == 0 && i.hashing == 0 && i.deletes_held == 0 && s.watcher_pending == 0 &&
              s.peers_behind == 0 &&
              std::all_of(sw.peers.begin(), sw.peers.end(), [](auto& p) { return p.answered; });
  return s;
}

// --- the behavior ---

console_actor::behavior_type console(self_ptr self, const node_context* ctx, console_refs refs,
                                     std::string group_tag) {
  // Asks every actor for its status, the index for its summary, the node for the last
  // session errors and the network for its peer statistics; then calls `finish`.
  auto run_sweep = [self, ctx, refs](std::function<void(sweep&)> finish) {
    auto sw = std::make_shared<sweep>();
    sw->finish = std::move(finish);
    sw->top.resize(6);
    auto ask_status = [self, sw](const status_actor& a, std::vector<core::actor_status>* into,
                                 std::size_t slot, std::string kind) {
      ++sw->pending;
      (*into)[slot] = no_answer(kind, kind);
      self->request(a, ask_timeout, status_atom::value)
          .then(
              [sw, into, slot](core::actor_status& s) {
                (*into)[slot] = std::move(s);
                sw->done();
              },
              [sw](caf::error&) { sw->done(); });
    };
    // Peers and transfers: asked once their parents named them.
    auto ask_children = [self, sw, ask_status](const parent_actor& parent,
                                               std::vector<core::actor_status>* into,
                                               std::string kind) {
      ++sw->pending;
      self->request(parent, ask_timeout, children_atom::value)
          .then(
              [sw, ask_status, into, kind](std::vector<status_actor>& kids) {
                into->resize(kids.size());
                for (std::size_t k = 0; k < kids.size(); ++k)
                  ask_status(kids[k], into, k, kind);
                sw->done();
              },
              [sw](caf::error&) { sw->done(); });
    };
    ask_status(refs.supervisor, &sw->top, 0, "node");
    ask_status(refs.watcher, &sw->top, 1, "watcher");
    ask_status(refs.index, &sw->top, 2, "index");
    ask_status(refs.scanner, &sw->top, 3, "scanner");
    if (refs.discovery)
      ask_status(refs.discovery, &sw->top, 4, "discovery");
    auto& me = sw->top[5];
    me = core::status_of("console", "console", self->mailbox().size());
    me.state = std::to_string(self->state.served) + " questions answered, " +
               std::to_string(self->state.snapshots.size()) + " waiting for the network";
    me.counters = {{"served", self->state.served}};
    ask_children(refs.supervisor, &sw->peers, "peer");
    ask_children(refs.index, &sw->transfers, "transfer");
    ++sw->pending;
    self->request(refs.index, ask_timeout, summary_atom::value)
        .then(
            [sw](core::index_summary& s) {
              sw->index = std::move(s);
              sw->done();
            },
            [sw](caf::error&) { sw->done(); });
    ++sw->pending;
    self->request(refs.supervisor, ask_timeout, errors_atom::value)
        .then(
            [sw](device_errors& e) {
              sw->errors = std::move(e);
              sw->done();
            },
            [sw](caf::error&) { sw->done(); });
    if (ctx->net) {
      auto id = self->state.next_snapshot++;
      self->state.snapshots[id] = sw;
      ++sw->pending;
      console_actor me_actor{self};
      ctx->net->snapshot([me_actor, id](std::vector<core::peer_status> s) {
        caf::anon_send(me_actor, netsnap_atom::value, id, std::move(s));
      });
      self->delayed_send(self, ask_timeout, timeout_atom::value, id);
    }
    sw->done(); // set up: from here the last answer finishes it
  };

  auto fail = [](const reply_fn& reply, std::string error) {
    core::console_answer a;
    a.error = std::move(error);
    reply(std::move(a));
  };

  // The error handler of a request to the index.
  auto index_failed = [fail](const reply_fn& reply) {
    return [fail, reply](caf::error& e) {
      fail(reply, "the index did not answer: " + caf::to_string(e));
    };
  };

  // A list of paths (ignored files, the mode's lists) and what differs for each.
  auto reply_paths = [](const reply_fn& reply, std::vector<std::string>& paths,
                        std::vector<std::string> changes, bool truncated) {
    core::console_answer a;
    a.paths = std::move(paths);
    a.path_changes = std::move(changes);
    a.truncated = truncated;
    reply(std::move(a));
  };

  // A command the index answers with (message, error): restore, pause and resume.
  auto ask_message = [self, refs, fail, index_failed](const reply_fn& reply, auto... args) {
    self->request(refs.index, ask_timeout * 4, args...)
        .then(
            [fail, reply](std::string& message, std::string& error) {
              if (!error.empty())
                return fail(reply, error);
              core::console_answer a;
              a.message = std::move(message);
              reply(std::move(a));
            },
            index_failed(reply));
  };

  return {
      [self, ctx, refs, group_tag, run_sweep, fail, index_failed, reply_paths,
       ask_message](ask_atom, const core::console_query& q, const reply_fn& reply) {
        ++self->state.served;
        auto started = self->state.started_ns;
        switch (q.kind) {
        case core::console_query_kind::status:
          run_sweep([ctx, group_tag, reply, started](sweep& sw) {
            core::console_answer a;
            a.status = node_status(sw, ctx, group_tag, started);
            reply(std::move(a));
          });
          return;
        case core::console_query_kind::peers:
          run_sweep([reply](sweep& sw) {
            core::console_answer a;
            a.peers = all_peers(sw);
            if (!sw.net)
              a.message = "the network did not answer in time: peer statistics are missing";
            reply(std::move(a));
          });
          return;
        case core::console_query_kind::actors:
          run_sweep([reply](sweep& sw) {
            core::console_answer a;
            a.actors = all_actors(sw);
            reply(std::move(a));
          });
          return;
        case core::console_query_kind::files:
          self->request(refs.index, ask_timeout * 4, files_atom::value, q.arg)
              .then(
                  [run_sweep, reply](std::vector<core::file_info>& files, bool truncated,
                                     std::map<core::short_id, std::string>& names) {
                    auto answer = std::make_shared<core::console_answer>();
                    answer->files = std::move(files);
                    answer->truncated = truncated;
                    answer->device_names = std::move(names);
                    // Which connected peers we have sent each record to: their read position.
                    run_sweep([reply, answer](sweep& sw) {
                      for (auto& f : answer->files)
                        for (auto& p : sw.peers)
                          if (p.answered && p.counter("subscribed") &&
                              p.counter("sent_up_to") >= f.record.sequence &&
                              p.name != f.received_from)
                            f.sent_to.push_back(p.name);
                      reply(std::move(*answer));
                    });
                  },
                  index_failed(reply));
          return;
        case core::console_query_kind::ignores: {
          core::console_answer a;
          if (ctx->ignores) {
            auto set = ctx->ignores->current();
            a.ignore_patterns = set->patterns();
            a.ignore_warnings = set->warnings();
          }
          reply(std::move(a));
          return;
        }
        case core::console_query_kind::ignored_files:
          self->request(refs.index, rescan_timeout, ignored_atom::value, q.arg)
              .then(
                  [reply_paths, reply](std::vector<std::string>& paths, bool truncated) {
                    reply_paths(reply, paths, {}, truncated);
                  },
                  index_failed(reply));
          return;
        case core::console_query_kind::out_of_sync:
        case core::console_query_kind::local_changes:
          self->request(refs.index, ask_timeout * 4, mode_list_atom::value,
                        q.kind == core::console_query_kind::local_changes, q.arg)
              .then([reply_paths,
                     reply](std::vector<std::string>& paths, std::vector<std::string>& changes,
                            bool truncated) { reply_paths(reply, paths, changes, truncated); },
                    index_failed(reply));
          return;
        case core::console_query_kind::override_group:
        case core::console_query_kind::revert_local:
          return ask_message(reply, mode_act_atom::value,
                             q.kind == core::console_query_kind::revert_local);
        case core::console_query_kind::conflicts:
          self->request(refs.index, ask_timeout * 4, conflicts_atom::value)
              .then(
                  [reply](std::vector<core::conflict_info>& c) {
                    core::console_answer a;
                    a.conflicts = std::move(c);
                    reply(std::move(a));
                  },
                  index_failed(reply));
          return;
        case core::console_query_kind::versions:
          self->request(refs.index, ask_timeout * 4, versions_atom::value, q.arg)
              .then(
                  [reply](std::vector<core::version_info>& v) {
                    core::console_answer a;
                    a.versions = std::move(v);
                    reply(std::move(a));
                  },
                  index_failed(reply));
          return;
        case core::console_query_kind::restore:
          return ask_message(reply, restore_atom::value, q.arg, q.arg2);
        case core::console_query_kind::pause:
        case core::console_query_kind::resume:
          return ask_message(reply, pause_atom::value, q.kind == core::console_query_kind::pause);
        case core::console_query_kind::rescan:
          self->request(refs.index, rescan_timeout, rescan_path_atom::value, q.arg)
              .then(
                  [fail, reply](std::uint64_t scanned, std::uint64_t changes, std::uint64_t hashing,
                                std::string& error) {
                    if (!error.empty())
                      return fail(reply, error);
                    core::console_answer a;
                    a.scanned = scanned;
                    a.changes = changes;
                    a.hashing = hashing;
                    reply(std::move(a));
                  },
                  index_failed(reply));
          return;
        default:
          fail(reply, "this question is answered by the console server itself");
        }
      },
      [self](netsnap_atom, std::uint64_t id, std::vector<core::peer_status>& s) {
        auto it = self->state.snapshots.find(id);
        if (it == self->state.snapshots.end())
          return; // too late: the sweep went on without it
        auto sw = it->second;
        self->state.snapshots.erase(it);
        sw->net = std::move(s);
        sw->done();
      },
      [self](timeout_atom, std::uint64_t id) {
        auto it = self->state.snapshots.find(id);
        if (it == self->state.snapshots.end())
          return;
        auto sw = it->second;
        self->state.snapshots.erase(it);
        sw->done();
      },
      [self](status_atom) {
        auto s = core::status_of("console", "console", self->mailbox().size());
        s.state = std::to_string(self->state.served) + " questions answered";
        s.counters = {{"served", self->state.served}};
        return s;
      },
  };
}

// Runs on the console server's thread: answers what needs no actor right there, posts the
// rest to the console actor.
class backend final : public rpc::console_backend {
public:
  backend(console_actor console, console_hooks hooks)
      : console_(std::move(console)), hooks_(std::move(hooks)) {}

  void ask(core::console_query q, std::shared_ptr<rpc::console_reply> reply) override {
    reply_fn done{std::move(reply)};
    core::console_answer a;
    switch (q.kind) {
    case core::console_query_kind::log_level: {
      io::level l;
      if (!io::parse_level(q.arg, l)) {
        a.error = "unknown log level '" + q.arg + "' (trace, debug, info, warn, error)";
        break;
      }
      a.previous = io::level_name(io::log_level());
      io::set_log_level(l);
      a.message = std::string("log level ") + io::level_name(l) + " (was " + a.previous + ")";
      io::log(io::level::warn, "console: " + a.message); // shown at every level but error
      break;
    }
    case core::console_query_kind::deny: {
      auto id = core::parse_device_id(q.arg);
      if (!id) {
        a.error = "'" + q.arg + "' is not a device id";
        break;
      }
      try {
        hooks_.deny(*id);
        a.message = "denied " + core::format_device_id(*id) +
                    ": its connections are dropped and it cannot reconnect";
      } catch (const std::exception& e) {
        a.error = e.what();
      }
      break;
    }
    default:
      caf::anon_send(console_, ask_atom::value, std::move(q), std::move(done));
      return;
    }
    done(std::move(a));
  }

private:
  console_actor console_;
  console_hooks hooks_;
};

} // namespace

console_actor spawn_console(caf::actor_system& sys, const node_context& ctx, console_refs refs,
                            std::string group_tag) {
  return sys.spawn(console, &ctx, std::move(refs), std::move(group_tag));
}

std::unique_ptr<rpc::console_backend> make_console_backend(console_actor console,
                                                           console_hooks hooks) {
  return std::make_unique<backend>(std::move(console), std::move(hooks));
}

} // namespace cascade::actors
