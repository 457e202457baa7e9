// A network for actor tests: it records every call the actors make (from their threads) and
// lets the test answer as peers would, through the receivers, observers and callbacks the
// actors passed in. Nothing listens or connects.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "rpc/transport.hpp"

namespace cascade::test {

class fake_transport final : public rpc::transport {
  // Runs f under the lock, then wakes every wait().
  template <class F>
  auto record(F f) {
    std::unique_lock lock(mutex_);
    if constexpr (std::is_void_v<decltype(f())>) {
      f();
      lock.unlock();
      changed_.notify_all();
    } else {
      auto r = f();
      lock.unlock();
      changed_.notify_all();
      return r;
    }
  }

public:
  struct fetch_call {
    rpc::fetch_id id = 0;
    rpc::session_id session = 0;
    std::string path;
    std::vector<core::byte_range> ranges;
    std::shared_ptr<rpc::chunk_receiver> receiver;
  };
  struct have_call {
    rpc::session_id session = 0;
    std::string path;
    std::function<void(rpc::have_answer)> done;
  };
  struct accepted_offer {
    rpc::session_id session = 0;
    rpc::call_id call = 0;
    rpc::fetch_id id = 0;
    std::shared_ptr<rpc::chunk_receiver> receiver;
  };
  struct update_call {
    rpc::session_id session = 0;
    std::vector<rpc::wire_entry> entries;
    std::uint64_t from = 0, last = 0;
    std::function<void(bool ok, bool need_full)> done;
  };
  struct offer_call {
    push_id id = 0;
    rpc::session_id session = 0;
    std::string path;
    std::shared_ptr<rpc::push_observer> observer;
  };

  // Waits until `pred` (run under the lock) holds; false after `timeout`.
  template <class Pred>
  bool wait(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return pred(*this); });
  }
  // A copy of the state, taken under the lock.
  template <class F>
  auto with(F f) {
    std::lock_guard lock(mutex_);
    return f(*this);
  }

  // What the actors did (read through wait() or with()).
  std::vector<fetch_call> fetches;
  std::vector<update_call> updates; // index batches sent
  std::vector<std::pair<rpc::session_id, std::string>> closed; // sessions closed, and why
  std::vector<have_call> haves;
  std::vector<accepted_offer> accepted;
  std::vector<rpc::call_id> declined;
  std::vector<offer_call> offers;
  std::map<push_id, std::vector<rpc::piece>> pushed; // every piece pushed, per push
  std::map<push_id, std::size_t> push_frames;        // push() calls (frames), per push
  std::map<push_id, std::string> finished_pushes;    // finish_push's error, per push
  std::map<rpc::fetch_id, std::size_t> consumed_frames;
  std::vector<rpc::fetch_id> cancelled;

  // rpc::transport
  void dial(const std::string&, std::uint16_t, std::optional<core::device_id>, int) override {}
  void forget(const std::string&, std::uint16_t) override {}
  dial_stats dial_statistics() const override { return {}; }
  void subscribe(rpc::session_id, std::uint64_t, std::uint64_t) override {}
  void send_update(rpc::session_id s, std::vector<rpc::wire_entry> entries, std::uint64_t from,
                   std::uint64_t last, std::function<void(bool, bool)> done) override {
    record([&] { updates.push_back({s, std::move(entries), from, last, std::move(done)}); });
  }
  void complete_update(rpc::session_id, rpc::call_id, bool, bool) override {}
  rpc::fetch_id fetch(rpc::session_id s, std::string path, std::vector<core::byte_range> ranges,
                      std::shared_ptr<rpc::chunk_receiver> receiver,
                      core::version_vector) override {
    return record([&] {
      fetches.push_back({++next_id_, s, std::move(path), std::move(ranges), std::move(receiver)});
      return next_id_;
    });
  }
  void have(rpc::session_id s, std::string path, core::version_vector, std::size_t,
            std::chrono::milliseconds, std::function<void(rpc::have_answer)> done) override {
    record([&] { haves.push_back({s, std::move(path), std::move(done)}); });
  }
  void answer_have(rpc::session_id, rpc::call_id, bool, std::vector<bool>) override {}
  void consumed(rpc::fetch_id f, std::size_t frames) override {
    record([&] { consumed_frames[f] += frames; });
  }
  void cancel_fetch(rpc::fetch_id f) override {
    record([&] { cancelled.push_back(f); });
  }
  void close_session(rpc::session_id s, std::string reason) override {
    record([&] { closed.emplace_back(s, std::move(reason)); });
  }
  rpc::fetch_id accept_offer(rpc::session_id s, rpc::call_id call,
                             std::shared_ptr<rpc::chunk_receiver> receiver) override {
    return record([&] {
      accepted.push_back({s, call, ++next_id_, std::move(receiver)});
      return next_id_;
    });
  }
  void decline_offer(rpc::session_id, rpc::call_id call) override {
    record([&] { declined.push_back(call); });
  }
  push_id offer(rpc::session_id s, rpc::wire_entry entry, std::vector<core::device_id>,
                std::vector<core::device_id>,
                std::shared_ptr<rpc::push_observer> observer) override {
    return record([&] {
      offers.push_back({++next_id_, s, entry.record.path, std::move(observer)});
      return next_id_;
    });
  }
  void push(push_id p, std::vector<rpc::piece> pieces) override {
    record([&] {
      auto& v = pushed[p];
      v.insert(v.end(), pieces.begin(), pieces.end());
      ++push_frames[p];
    });
  }
  void finish_push(push_id p, std::string error, bool) override {
    record([&] { finished_pushes[p] = std::move(error); });
  }
  void deny(const core::device_id&) override {}
  void snapshot(std::function<void(std::vector<core::peer_status>)> done) override { done({}); }

private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::uint64_t next_id_ = 0;
};

} // namespace cascade::test
