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
#include "actors/console_sweep.hpp"
#include "io/log.hpp"

namespace cascade::actors {

using namespace console_detail;

namespace {

using reply_fn = console_reply_to;

constexpr auto rescan_timeout = std::chrono::seconds(120);

struct console_state {
  static inline const char* name = "console";
  std::int64_t started_ns = steady_ns();
  std::uint64_t served = 0;
  std::uint64_t next_snapshot = 1;
  std::map<std::uint64_t, std::shared_ptr<sweep>> snapshots; // waiting for the network
};

using self_ptr = console_actor::stateful_pointer<console_state>;

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
