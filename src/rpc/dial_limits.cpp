// The dial budget of the node (issue 10): every dial loop asks core::dial_limiter before a
// connection attempt. Over the rate or the pending cap it waits in a queue in core::dial_rank
// order, so a newly found service on a host of its own (a real peer that just appeared) is
// dialed before addresses that failed again and again or serve a flood of fake services.
// Static --peer targets never wait: they are counted and go at once. KJ thread only.
#include <chrono>

#include "rpc/network_impl.hpp"

namespace cascade::rpc {

namespace {
core::steady_time steady_now() {
  return std::chrono::steady_clock::now();
}
} // namespace

void network::impl::publish_dial_stats() {
  dial_stats_.attempts = dial_limiter.attempts();
  dial_stats_.pending = dial_limiter.pending();
  dial_stats_.peak_pending = dial_limiter.peak_pending();
  dial_stats_.waiting = dial_waiters.size();
}

kj::Promise<void> network::impl::dial_slot(const dial_target& t) {
  auto now = steady_now();
  if (t.via_static) {
    dial_limiter.force_start(now);
  } else if (!dial_waiters.empty() || !dial_limiter.try_start(now)) {
    ++dial_stats_.waited;
    auto paf = kj::newPromiseAndFulfiller<void>();
    std::size_t at_host = 0;
    for (auto& other : targets)
      at_host += other->wanted && other->host == t.host;
    // Equal keys keep their order (multimap inserts after them): first come, first served.
    dial_waiters.emplace(core::dial_rank{t.failures, at_host}, kj::mv(paf.fulfiller));
    pump_dial_waiters();
    return kj::mv(paf.promise);
  }
  publish_dial_stats();
  return kj::READY_NOW;
}

void network::impl::pump_dial_waiters() {
  while (!dial_waiters.empty()) {
    auto first = dial_waiters.begin();
    if (!first->second->isWaiting()) { // its dial loop is gone (shutdown)
      dial_waiters.erase(first);
      continue;
    }
    if (!dial_limiter.try_start(steady_now()))
      break;
    first->second->fulfill();
    dial_waiters.erase(first);
  }
  publish_dial_stats();
  // A full pending cap is pumped again by end_dial_slot(); the rate by a timer.
  if (dial_waiters.empty() || dial_limiter.pending_full() || dial_pump_armed)
    return;
  dial_pump_armed = true;
  auto wait = dial_limiter.wait(steady_now());
  auto& timer = KJ_ASSERT_NONNULL(io).provider->getTimer();
  tasks->add(timer.afterDelay(std::max<std::int64_t>(wait.count(), 1000000) * kj::NANOSECONDS)
                 .then([this]() {
                   dial_pump_armed = false;
                   pump_dial_waiters();
                 }));
}

void network::impl::end_dial_slot() {
  dial_limiter.finish();
  if (!dial_closing)
    pump_dial_waiters();
}

kj::Promise<kj::Own<kj::AsyncIoStream>> network::impl::connect_limited(dial_target& t) {
  return dial_slot(t).then([this, &t]() {
    // The slot is held until the TCP connect is over, however it ends.
    auto slot = kj::defer([this]() { end_dial_slot(); });
    if (!t.wanted) // forgotten while waiting: the dial loop ends after this attempt
      return kj::Promise<kj::Own<kj::AsyncIoStream>>(KJ_EXCEPTION(DISCONNECTED, "no longer wanted"))
          .attach(kj::mv(slot));
    auto& ctx = KJ_ASSERT_NONNULL(io);
    auto connect =
        ctx.provider->getNetwork()
            .parseAddress(t.host, t.port)
            .then([](kj::Own<kj::NetworkAddress> a) { return a->connect().attach(kj::mv(a)); });
    return ctx.provider->getTimer()
        .timeoutAfter(connect_timeout, kj::mv(connect))
        .attach(kj::mv(slot));
  });
}

void network::impl::erase_target_later(dial_target& t) {
  tasks->add(kj::evalLater([this, p = &t]() {
    for (auto it = targets.begin(); it != targets.end(); ++it)
      if (it->get() == p) {
        if (!p->wanted && !p->running)
          targets.erase(it);
        return;
      }
  }));
}

network::dial_stats network::dial_statistics() const {
  auto& s = impl_->dial_stats_;
  return {s.attempts.load(), s.waited.load(), s.pending.load(), s.peak_pending.load(),
          s.waiting.load()};
}

} // namespace cascade::rpc
