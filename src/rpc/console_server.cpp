// The console's socket and server thread: bind() creates <state>/console.sock mode 0600, every
// accepted peer must be our own uid (SO_PEERCRED), and a KJ event loop of its own serves the
// Console capability (console_handlers.cpp) until stop().
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

#include "io/log.hpp"
#include "rpc/console_handlers.hpp"

namespace cascade::rpc {

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
      auto server = kj::heap<capnp::TwoPartyServer>(make_console(*backend, timer));
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
