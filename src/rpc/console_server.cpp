#include "rpc/console_server.hpp"

#include <capnp/rpc-twoparty.h>
#include <fcntl.h>
#include <kj/async-io.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "console.capnp.h"
#include "io/log.hpp"

namespace cascade::rpc {

namespace cw = console_wire;

namespace {

// A sockaddr_un for `path`; a path too long for sun_path goes through an O_PATH descriptor of
// its directory (/proc/self/fd/N/name), which `dirfd` then holds until the call is done.
struct unix_address {
  sockaddr_un addr{};
  int dirfd = -1;
  ~unix_address() {
    if (dirfd >= 0)
      ::close(dirfd);
  }

  bool set(const std::string& path) {
    addr.sun_family = AF_UNIX;
    std::string p = path;
    if (p.size() >= sizeof addr.sun_path) {
      auto slash = path.rfind('/');
      auto dir = slash == std::string::npos ? std::string(".") : path.substr(0, slash);
      dirfd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (dirfd < 0)
        return false;
      p = "/proc/self/fd/" + std::to_string(dirfd) + "/" + path.substr(slash + 1);
      if (p.size() >= sizeof addr.sun_path) {
        errno = ENAMETOOLONG;
        return false;
      }
    }
    std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
    return true;
  }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&addr); }
};

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
  out.setUptimeNs(s.uptime_ns);
  out.setLogLevel(s.log_level);
  fill(out.initLatency(), i.latency);
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
  using answer_fulfiller = kj::Own<kj::CrossThreadPromiseFulfiller<core::console_answer>>;

  // Hands the question to the backend; its answer comes back from another thread through a
  // cross-thread promise (the only KJ object meant to be touched from there).
  kj::Promise<core::console_answer> ask(core::console_query_kind kind, std::string arg = {},
                                        kj::Duration limit = 10 * kj::SECONDS) {
    auto paf = kj::newPromiseAndCrossThreadFulfiller<core::console_answer>();
    auto f = std::make_shared<answer_fulfiller>(kj::mv(paf.fulfiller));
    backend_.ask({kind, std::move(arg)}, [f](core::console_answer a) { (*f)->fulfill(kj::mv(a)); });
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

int connect_unix(const std::string& path) {
  unix_address a;
  if (!a.set(path))
    return -1;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  if (::connect(fd, a.get(), sizeof a.addr) != 0) {
    int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

struct console_server::impl : kj::TaskSet::ErrorHandler {
  std::string path;
  int fd = -1;
  bool bound = false;
  console_backend* backend = nullptr;
  std::thread thread;
  std::mutex mutex;
  bool stopping = false;
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> stop_fulfiller; // under `mutex`

  void taskFailed(kj::Exception&& e) override {
    io::log_warn(std::string("console: ") + e.getDescription().cStr());
  }

  // Every accepted peer must be our own user (the socket's mode says so too).
  kj::Promise<void> accept_loop(kj::ConnectionReceiver& receiver, capnp::TwoPartyServer& server,
                                kj::Timer& timer) {
    return receiver.accept().then(
        [this, &receiver, &server, &timer](kj::Own<kj::AsyncIoStream> s) {
          struct ucred cred {};
          kj::uint len = sizeof cred;
          bool ok = false;
          try {
            s->getsockopt(SOL_SOCKET, SO_PEERCRED, &cred, &len);
            ok = len == sizeof cred && cred.uid == ::geteuid();
          } catch (...) {
          }
          if (ok) {
            server.accept(kj::mv(s));
          } else {
            io::log_warn("console: refused a connection from uid " + std::to_string(cred.uid) +
                         " (pid " + std::to_string(cred.pid) + "): only uid " +
                         std::to_string(::geteuid()) + " may use this console");
            // `s` closes here
          }
          return accept_loop(receiver, server, timer);
        },
        [this, &receiver, &server, &timer](kj::Exception&& e) {
          io::log_warn(std::string("console: accept failed: ") + e.getDescription().cStr());
          return timer.afterDelay(100 * kj::MILLISECONDS)
              .then([this, &receiver, &server, &timer]() {
                return accept_loop(receiver, server, timer);
              });
        });
  }

  void run(std::promise<void>& ready) {
    bool signalled = false;
    try {
      auto io = kj::setupAsyncIo();
      auto& timer = io.provider->getTimer();
      auto receiver = io.lowLevelProvider->wrapListenSocketFd(
          fd, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP |
                  kj::LowLevelAsyncIoProvider::ALREADY_CLOEXEC |
                  kj::LowLevelAsyncIoProvider::ALREADY_NONBLOCK);
      fd = -1; // owned by the receiver now
      auto server = kj::heap<capnp::TwoPartyServer>(kj::heap<console_impl>(*backend, timer));
      auto paf = kj::newPromiseAndCrossThreadFulfiller<void>();
      {
        std::lock_guard lock(mutex);
        stop_fulfiller = kj::mv(paf.fulfiller);
        if (stopping)
          stop_fulfiller->fulfill();
      }
      ready.set_value();
      signalled = true;
      kj::TaskSet tasks(*this);
      tasks.add(accept_loop(*receiver, *server, timer));
      paf.promise.wait(io.waitScope);
      // Connections and pending calls go with the server; answers arriving later find their
      // promises gone (cross-thread fulfillers tolerate that).
      server = nullptr;
      receiver = nullptr;
    } catch (kj::Exception& e) {
      io::log_error(std::string("console: ") + e.getDescription().cStr());
    }
    if (!signalled)
      ready.set_value();
  }
};

console_server::console_server(std::string socket_path) : impl_(std::make_unique<impl>()) {
  impl_->path = std::move(socket_path);
}

console_server::~console_server() {
  stop();
}

const std::string& console_server::path() const {
  return impl_->path;
}

void console_server::bind() {
  auto& p = impl_->path;
  struct stat st {};
  if (::lstat(p.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      throw std::runtime_error(p + " exists and is not a socket; remove it");
    int live = connect_unix(p);
    if (live >= 0) {
      ::close(live);
      throw std::runtime_error("another node answers at " + p +
                               " (is it running for this folder?)");
    }
    ::unlink(p.c_str()); // left behind by a node that did not stop cleanly
  }
  unix_address a;
  if (!a.set(p))
    throw std::runtime_error("cannot use " + p + ": " + std::strerror(errno));
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  // The file is created 0600: Linux gives it the socket inode's mode masked by the umask, and
  // both are narrowed first (the umask is process-wide: no other thread runs yet).
  ::fchmod(fd, 0600);
  auto old = ::umask(077);
  int rc = ::bind(fd, a.get(), sizeof a.addr);
  int err = errno;
  ::umask(old);
  if (rc != 0) {
    ::close(fd);
    throw std::runtime_error("cannot bind " + p + ": " + std::strerror(err));
  }
  impl_->bound = true;
  if (::chmod(p.c_str(), 0600) != 0 || ::lstat(p.c_str(), &st) != 0 || (st.st_mode & 077) != 0 ||
      st.st_uid != ::geteuid()) {
    ::close(fd);
    ::unlink(p.c_str());
    impl_->bound = false;
    throw std::runtime_error("cannot make " + p + " private (mode 0600)");
  }
  if (::listen(fd, 16) != 0) {
    err = errno;
    ::close(fd);
    ::unlink(p.c_str());
    impl_->bound = false;
    throw std::runtime_error("cannot listen on " + p + ": " + std::strerror(err));
  }
  impl_->fd = fd;
}

void console_server::start(console_backend& backend) {
  if (impl_->fd < 0 || impl_->thread.joinable())
    return;
  impl_->backend = &backend;
  std::promise<void> ready;
  auto f = ready.get_future();
  impl_->thread = std::thread([this, &ready] { impl_->run(ready); });
  f.wait();
}

void console_server::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
    if (impl_->stop_fulfiller)
      impl_->stop_fulfiller->fulfill();
  }
  if (impl_->thread.joinable())
    impl_->thread.join();
  impl_->stop_fulfiller = nullptr;
  if (impl_->fd >= 0) {
    ::close(impl_->fd);
    impl_->fd = -1;
  }
  if (impl_->bound) {
    ::unlink(impl_->path.c_str());
    impl_->bound = false;
  }
}

} // namespace cascade::rpc
