#include "rpc/dial_budget.hpp"

#include <algorithm>
#include <chrono>

namespace cascade::rpc {

namespace {
core::steady_time steady_now() {
  return std::chrono::steady_clock::now();
}
} // namespace

void dial_budget::attach(kj::Timer& timer, kj::TaskSet& tasks) {
  timer_ = &timer;
  tasks_ = &tasks;
}

void dial_budget::publish() {
  stats_.attempts = limiter_.attempts();
  stats_.pending = limiter_.pending();
  stats_.peak_pending = limiter_.peak_pending();
  stats_.waiting = waiters_.size();
}

kj::Promise<void> dial_budget::slot(bool forced, core::dial_rank rank) {
  auto now = steady_now();
  if (forced) {
    limiter_.force_start(now);
  } else if (!waiters_.empty() || !limiter_.try_start(now)) {
    ++stats_.waited;
    auto paf = kj::newPromiseAndFulfiller<void>();
    // Equal keys keep their order (multimap inserts after them): first come, first served.
    waiters_.emplace(rank, kj::mv(paf.fulfiller));
    pump();
    return kj::mv(paf.promise);
  }
  publish();
  return kj::READY_NOW;
}

void dial_budget::pump() {
  while (!waiters_.empty()) {
    auto first = waiters_.begin();
    if (!first->second->isWaiting()) { // its dial loop is gone (shutdown)
      waiters_.erase(first);
      continue;
    }
    if (!limiter_.try_start(steady_now()))
      break;
    first->second->fulfill();
    waiters_.erase(first);
  }
  publish();
  // A full pending cap is pumped again by end(); the rate by a timer.
  if (waiters_.empty() || limiter_.pending_full() || pump_armed_ || timer_ == nullptr)
    return;
  pump_armed_ = true;
  auto wait = limiter_.wait(steady_now());
  tasks_->add(timer_->afterDelay(std::max<std::int64_t>(wait.count(), 1000000) * kj::NANOSECONDS)
                  .then([this]() {
                    pump_armed_ = false;
                    pump();
                  }));
}

void dial_budget::end() {
  limiter_.finish();
  if (!closing_)
    pump();
}

transport::dial_stats dial_budget::stats() const {
  return {stats_.attempts.load(), stats_.waited.load(), stats_.pending.load(),
          stats_.peak_pending.load(), stats_.waiting.load()};
}

} // namespace cascade::rpc
