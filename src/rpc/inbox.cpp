#include "rpc/inbox.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "io/log.hpp"

namespace cascade::rpc {

namespace {
void run_one(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const kj::Exception& e) {
    io::log_error("network: a queued call failed: " + std::string(e.getDescription().cStr()));
  } catch (const std::exception& e) {
    io::log_error(std::string("network: a queued call failed: ") + e.what());
  } catch (...) {
    io::log_error("network: a queued call failed with an unknown exception");
  }
}
} // namespace

inbox::inbox() : efd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (efd_ < 0)
    throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
}

inbox::~inbox() {
  ::close(efd_);
}

void inbox::post(std::function<void()> fn) {
  {
    std::lock_guard lock(mutex_);
    if (closed_)
      return;
    queue_.push_back(std::move(fn));
  }
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(efd_, &one, sizeof one);
}

void inbox::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
}

kj::Promise<void> inbox::attach(kj::LowLevelAsyncIoProvider& provider) {
  reader_ = provider.wrapInputFd(efd_);
  return drain();
}

kj::Promise<void> inbox::drain() {
  return reader_->read(&scratch_, sizeof scratch_).then([this]() {
    std::deque<std::function<void()>> batch;
    {
      std::lock_guard lock(mutex_);
      batch.swap(queue_);
    }
    for (auto& fn : batch)
      run_one(fn);
    return drain();
  });
}

} // namespace cascade::rpc
