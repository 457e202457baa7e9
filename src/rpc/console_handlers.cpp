// The Console capability's handlers: each call asks the console_backend (the actors) on the
// console thread, waits for the answer through a cross-thread promise, and converts the core
// structs into schema/console.capnp's console_wire.
#include "rpc/console_handlers.hpp"

#include <kj/async.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/utc_stamp.hpp"

namespace cascade::rpc {

namespace cw = console_wire;

namespace {

kj::Exception failure(const std::string& text) {
  return kj::Exception(kj::Exception::Type::FAILED, __FILE__, __LINE__, kj::heapString(text));
}

std::string hex(const core::sha256_digest& d) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (auto b : d) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

const char* type_name(core::file_type t) {
  switch (t) {
  case core::file_type::file:
    return "file";
  case core::file_type::dir:
    return "dir";
  case core::file_type::symlink:
    return "symlink";
  }
  return "?";
}

// --- core structs -> console_wire ---

void fill(cw::Latency::Builder out, const core::latency_summary& l) {
  out.setCount(l.count);
  out.setP50Ns(l.p50_ns);
  out.setP95Ns(l.p95_ns);
  out.setP99Ns(l.p99_ns);
  out.setMaxNs(l.max_ns);
}

void fill(cw::Status::Builder out, const core::node_status& s) {
  auto& i = s.index;
  out.setDeviceId(s.device_id);
  out.setGroup(s.group);
  out.setFolder(s.folder);
  out.setStateDir(s.state_dir);
  out.setFiles(i.files);
  out.setDirs(i.dirs);
  out.setBytes(i.bytes);
  out.setDeleted(i.deleted);
  out.setSequence(i.sequence);
  out.setInSync(s.in_sync);
  out.setNeededFiles(i.needed_files);
  out.setNeededBytes(i.needed_bytes);
  out.setTransfers(i.transfers);
  out.setWaiting(i.waiting);
  out.setHashing(i.hashing);
  out.setDeletesHeld(i.deletes_held);
  out.setWatcherPending(s.watcher_pending);
  out.setPeersConnected(s.peers_connected);
  out.setPeersBehind(s.peers_behind);
  out.setHalted(i.halted);
  out.setPaused(i.paused);
  out.setMode(i.mode);
  out.setUptimeNs(s.uptime_ns);
  out.setLogLevel(s.log_level);
  fill(out.initLatency(), i.latency);
  auto faults = out.initFaults(static_cast<unsigned>(s.faults.size()));
  for (unsigned k = 0; k < s.faults.size(); ++k) {
    auto& f = s.faults[k];
    faults[k].setName(f.name);
    faults[k].setMessage(f.message);
    faults[k].setSinceNs(f.since_ns);
    faults[k].setCount(f.count);
  }
}

void fill(cw::Peer::Builder out, const core::peer_status& p) {
  out.setDeviceId(p.device ? core::format_device_id(*p.device) : "");
  out.setAddress(p.address);
  out.setFound(p.found);
  out.setState(p.state);
  out.setOutbound(p.outbound);
  out.setRttNs(p.rtt_ns);
  out.setBytesIn(p.bytes_in);
  out.setBytesOut(p.bytes_out);
  out.setRateIn(p.rate_in);
  out.setRateOut(p.rate_out);
  out.setConnectedNs(p.connected_ns);
  out.setLastError(p.last_error);
  out.setHasLatency(p.latency.has_value());
  if (p.latency)
    fill(out.initLatency(), *p.latency);
  out.setSession(p.session);
}

void fill(cw::Transfer::Builder out, const core::transfer_status& t) {
  out.setPath(t.path);
  out.setSize(t.size);
  out.setFetched(t.fetched);
  out.setCopied(t.copied);
  out.setRate(t.rate);
  out.setUpstream(t.upstream);
  auto d = out.initDownstreams(static_cast<unsigned>(t.downstreams.size()));
  for (unsigned k = 0; k < d.size(); ++k)
    d.set(k, t.downstreams[k]);
  out.setStartedNs(t.started_ns);
}

void fill(cw::Actor::Builder out, const core::actor_status& a) {
  out.setKind(a.kind);
  out.setName(a.name);
  out.setState(a.state);
  out.setMailbox(a.mailbox);
  out.setAnswered(a.answered);
  auto c = out.initCounters(static_cast<unsigned>(a.counters.size()));
  for (unsigned k = 0; k < c.size(); ++k) {
    c[k].setKey(a.counters[k].first);
    c[k].setValue(a.counters[k].second);
  }
  out.setIsTransfer(a.transfer.has_value());
  if (a.transfer)
    fill(out.initTransfer(), *a.transfer);
}

void fill(cw::Record::Builder out, const core::file_record& r,
          const std::map<core::short_id, std::string>& names) {
  out.setPath(r.path);
  out.setType(type_name(r.type));
  out.setSize(r.size);
  out.setMtimeNs(r.mtime_ns);
  out.setMode(r.mode);
  out.setDeleted(r.deleted);
  auto& entries = r.version.entries();
  auto v = out.initVersion(static_cast<unsigned>(entries.size()));
  for (unsigned k = 0; k < v.size(); ++k) {
    v[k].setDevice(core::format_short_id(entries[k].first));
    if (auto it = names.find(entries[k].first); it != names.end())
      v[k].setDeviceId(it->second);
    v[k].setCounter(entries[k].second);
  }
  out.setSequence(r.sequence);
  out.setModifiedBy(r.modified_by ? core::format_short_id(r.modified_by) : "");
  auto c = out.initChunks(static_cast<unsigned>(r.chunks.size()));
  for (unsigned k = 0; k < c.size(); ++k) {
    c[k].setOffset(r.chunks[k].offset);
    c[k].setLength(r.chunks[k].length);
    c[k].setHash(hex(r.chunks[k].hash));
  }
  out.setSymlinkTarget(r.symlink_target);
  out.setChangedAtNs(r.changed_at_ns);
}

template <class List> void fill_texts(List out, const std::vector<std::string>& in) {
  for (unsigned k = 0; k < in.size(); ++k)
    out.set(k, in[k]);
}

// --- the Console capability ---

class console_impl final : public cw::Console::Server {
public:
  console_impl(console_backend& b, kj::Timer& t) : backend_(b), timer_(t) {}

  kj::Promise<void> status(StatusContext ctx) override {
    return ask(core::console_query_kind::status).then([ctx](core::console_answer a) mutable {
      fill(ctx.getResults().initStatus(), a.status);
    });
  }

  kj::Promise<void> peers(PeersContext ctx) override {
    return ask(core::console_query_kind::peers).then([ctx](core::console_answer a) mutable {
      auto l = ctx.getResults().initPeers(static_cast<unsigned>(a.peers.size()));
      for (unsigned k = 0; k < l.size(); ++k)
        fill(l[k], a.peers[k]);
    });
  }

  kj::Promise<void> actors(ActorsContext ctx) override {
    return ask(core::console_query_kind::actors).then([ctx](core::console_answer a) mutable {
      auto l = ctx.getResults().initActors(static_cast<unsigned>(a.actors.size()));
      for (unsigned k = 0; k < l.size(); ++k)
        fill(l[k], a.actors[k]);
    });
  }

  kj::Promise<void> transfers(TransfersContext ctx) override {
    return ask(core::console_query_kind::actors).then([ctx](core::console_answer a) mutable {
      std::vector<const core::transfer_status*> ts;
      for (auto& x : a.actors)
        if (x.transfer)
          ts.push_back(&*x.transfer);
      auto l = ctx.getResults().initTransfers(static_cast<unsigned>(ts.size()));
      for (unsigned k = 0; k < l.size(); ++k)
        fill(l[k], *ts[k]);
    });
  }

  kj::Promise<void> files(FilesContext ctx) override {
    std::string glob = ctx.getParams().getGlob().cStr();
    return ask(core::console_query_kind::files, glob).then([ctx](core::console_answer a) mutable {
      auto res = ctx.getResults();
      res.setTruncated(a.truncated);
      auto l = res.initFiles(static_cast<unsigned>(a.files.size()));
      for (unsigned k = 0; k < l.size(); ++k) {
        auto& f = a.files[k];
        fill(l[k].initRecord(), f.record, a.device_names);
        fill_texts(l[k].initHas(static_cast<unsigned>(f.has.size())), f.has);
        fill_texts(l[k].initSentTo(static_cast<unsigned>(f.sent_to.size())), f.sent_to);
        l[k].setReceivedFrom(f.received_from);
        l[k].setHasNeeded(f.needed.has_value());
        if (f.needed)
          fill(l[k].initNeeded(), *f.needed, a.device_names);
        l[k].setNeededFrom(f.needed_from);
      }
    });
  }

  kj::Promise<void> conflicts(ConflictsContext ctx) override {
    return ask(core::console_query_kind::conflicts).then([ctx](core::console_answer a) mutable {
      auto l = ctx.getResults().initConflicts(static_cast<unsigned>(a.conflicts.size()));
      for (unsigned k = 0; k < l.size(); ++k) {
        auto& c = a.conflicts[k];
        l[k].setPath(c.path);
        l[k].setOriginal(c.original);
        l[k].setDevice(c.device);
        l[k].setTime(c.time);
        l[k].setSize(c.size);
        l[k].setMtimeNs(c.mtime_ns);
      }
    });
  }

  kj::Promise<void> versions(VersionsContext ctx) override {
    std::string glob = ctx.getParams().getGlob().cStr();
    return ask(core::console_query_kind::versions, glob)
        .then([ctx](core::console_answer a) mutable {
          auto l = ctx.getResults().initVersions(static_cast<unsigned>(a.versions.size()));
          for (unsigned k = 0; k < l.size(); ++k) {
            auto& v = a.versions[k];
            l[k].setPath(v.path);
            l[k].setName(v.name);
            l[k].setTime(core::utc_stamp(v.time_s));
            l[k].setSize(v.size);
            l[k].setMtimeNs(v.mtime_ns);
          }
        });
  }

  kj::Promise<void> restore(RestoreContext ctx) override {
    auto p = ctx.getParams();
    return ask(core::console_query_kind::restore, p.getPath().cStr(), 10 * kj::SECONDS,
               p.getTime().cStr())
        .then([ctx](core::console_answer a) mutable { ctx.getResults().setMessage(a.message); });
  }

  kj::Promise<void> pause(PauseContext ctx) override {
    return ask(core::console_query_kind::pause).then([ctx](core::console_answer a) mutable {
      ctx.getResults().setMessage(a.message);
    });
  }

  kj::Promise<void> resume(ResumeContext ctx) override {
    return ask(core::console_query_kind::resume).then([ctx](core::console_answer a) mutable {
      ctx.getResults().setMessage(a.message);
    });
  }

  kj::Promise<void> outOfSync(OutOfSyncContext ctx) override {
    return mode_paths(core::console_query_kind::out_of_sync, ctx);
  }

  kj::Promise<void> localChanges(LocalChangesContext ctx) override {
    return mode_paths(core::console_query_kind::local_changes, ctx);
  }

  kj::Promise<void> overrideGroup(OverrideGroupContext ctx) override {
    return ask(core::console_query_kind::override_group, {}, 60 * kj::SECONDS)
        .then([ctx](core::console_answer a) mutable { ctx.getResults().setMessage(a.message); });
  }

  kj::Promise<void> revertLocal(RevertLocalContext ctx) override {
    return ask(core::console_query_kind::revert_local, {}, 60 * kj::SECONDS)
        .then([ctx](core::console_answer a) mutable { ctx.getResults().setMessage(a.message); });
  }

  kj::Promise<void> ignores(IgnoresContext ctx) override {
    return ask(core::console_query_kind::ignores).then([ctx](core::console_answer a) mutable {
      auto res = ctx.getResults();
      auto l = res.initPatterns(static_cast<unsigned>(a.ignore_patterns.size()));
      for (unsigned k = 0; k < l.size(); ++k) {
        auto& p = a.ignore_patterns[k];
        l[k].setSource(p.source);
        l[k].setLine(static_cast<std::uint32_t>(p.line));
        l[k].setText(p.text);
      }
      fill_texts(res.initWarnings(static_cast<unsigned>(a.ignore_warnings.size())),
                 a.ignore_warnings);
    });
  }

  kj::Promise<void> ignoredFiles(IgnoredFilesContext ctx) override {
    std::string glob = ctx.getParams().getGlob().cStr();
    return ask(core::console_query_kind::ignored_files, glob, 130 * kj::SECONDS)
        .then([ctx](core::console_answer a) mutable {
          auto res = ctx.getResults();
          res.setTruncated(a.truncated);
          fill_texts(res.initPaths(static_cast<unsigned>(a.paths.size())), a.paths);
        });
  }

  kj::Promise<void> rescan(RescanContext ctx) override {
    std::string path = ctx.getParams().getPath().cStr();
    return ask(core::console_query_kind::rescan, path, 130 * kj::SECONDS)
        .then([ctx](core::console_answer a) mutable {
          auto r = ctx.getResults();
          r.setScanned(a.scanned);
          r.setChanges(a.changes);
          r.setHashing(a.hashing);
        });
  }

  kj::Promise<void> setLogLevel(SetLogLevelContext ctx) override {
    std::string level = ctx.getParams().getLevel().cStr();
    return ask(core::console_query_kind::log_level, level)
        .then([ctx](core::console_answer a) mutable { ctx.getResults().setPrevious(a.previous); });
  }

  kj::Promise<void> deny(DenyContext ctx) override {
    std::string id = ctx.getParams().getDeviceId().cStr();
    return ask(core::console_query_kind::deny, id).then([ctx](core::console_answer a) mutable {
      ctx.getResults().setMessage(a.message);
    });
  }

private:
  // Where the backend's answer goes: fulfils the promise ask() waits on.
  struct kj_reply final : console_reply {
    explicit kj_reply(kj::Own<kj::CrossThreadPromiseFulfiller<core::console_answer>> f)
        : fulfiller(kj::mv(f)) {}
    // kj::Own's destructor may throw; here, as in any shared_ptr's deleter, it must not.
    ~kj_reply() noexcept override = default;
    void fulfil(core::console_answer a) override { fulfiller->fulfill(kj::mv(a)); }
    kj::Own<kj::CrossThreadPromiseFulfiller<core::console_answer>> fulfiller;
  };

  // Hands the question to the backend; its answer comes back from another thread through a
  // cross-thread promise (the only KJ object meant to be touched from there).
  // out-of-sync and local-changes: (paths, changes, truncated).
  template <class Context>
  kj::Promise<void> mode_paths(core::console_query_kind kind, Context ctx) {
    std::string glob = ctx.getParams().getGlob().cStr();
    return ask(kind, glob, 30 * kj::SECONDS).then([ctx](core::console_answer a) mutable {
      auto res = ctx.getResults();
      res.setTruncated(a.truncated);
      fill_texts(res.initPaths(static_cast<unsigned>(a.paths.size())), a.paths);
      fill_texts(res.initChanges(static_cast<unsigned>(a.path_changes.size())), a.path_changes);
    });
  }

  kj::Promise<core::console_answer> ask(core::console_query_kind kind, std::string arg = {},
                                        kj::Duration limit = 10 * kj::SECONDS,
                                        std::string arg2 = {}) {
    auto paf = kj::newPromiseAndCrossThreadFulfiller<core::console_answer>();
    backend_.ask({kind, std::move(arg), std::move(arg2)},
                 std::make_shared<kj_reply>(kj::mv(paf.fulfiller)));
    return timer_.timeoutAfter(limit, kj::mv(paf.promise))
        .then(
            [](core::console_answer a) -> core::console_answer {
              if (!a.error.empty())
                kj::throwFatalException(failure(a.error));
              return a;
            },
            [](kj::Exception&& e) -> core::console_answer {
              if (std::strstr(e.getDescription().cStr(), "timed out"))
                kj::throwFatalException(failure("the node did not answer in time"));
              kj::throwFatalException(kj::mv(e));
            });
  }

  console_backend& backend_;
  kj::Timer& timer_;
};

} // namespace

cw::Console::Client make_console(console_backend& backend, kj::Timer& timer) {
  return kj::heap<console_impl>(backend, timer);
}

} // namespace cascade::rpc
