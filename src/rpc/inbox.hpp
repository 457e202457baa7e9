// The one door into the KJ thread: other threads post closures, the KJ thread runs them in the
// order they came (an eventfd wakes its loop). A closure that throws is logged and dropped and
// the rest still run: a bridge that stopped here would leave every later call from the actors
// unanswered. Once closed, posts are dropped (the thread is going).
#pragma once

#include <kj/async-io.h>

#include <deque>
#include <functional>
#include <mutex>

namespace cascade::rpc {

class inbox {
public:
  inbox(); // throws std::runtime_error without an eventfd
  ~inbox();
  inbox(const inbox&) = delete;
  inbox& operator=(const inbox&) = delete;

  // Any thread.
  void post(std::function<void()> fn);
  void close();

  // KJ thread: runs what is posted for as long as the returned promise lives (add it to the
  // loop's tasks); detach() after those tasks are gone.
  kj::Promise<void> attach(kj::LowLevelAsyncIoProvider& provider);
  void detach() { reader_ = nullptr; }

private:
  kj::Promise<void> drain();

  int efd_ = -1;
  std::mutex mutex_;
  std::deque<std::function<void()>> queue_;
  bool closed_ = false;
  kj::Own<kj::AsyncInputStream> reader_; // the eventfd, KJ thread only
  std::uint64_t scratch_ = 0;
};

} // namespace cascade::rpc
