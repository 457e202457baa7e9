// The calls of a peer that wait for our actors' answer (index updates, offers, have queries),
// keyed by (session, call). A table caps how many one session may have waiting, and a session
// that goes takes its calls with it: their promises reject, so the peer's call fails. KJ thread
// only.
#pragma once

#include <kj/async.h>

#include <iterator>
#include <map>
#include <utility>

#include "rpc/transport.hpp"

namespace cascade::rpc {

template <class T> class call_table {
public:
  explicit call_table(long per_session) : per_session_(per_session) {}

  long limit() const { return per_session_; }

  // How many calls session `s` has waiting.
  long pending(session_id s) const { return std::distance(first(s), end(s)); }

  // Registers call `c` of session `s`; the promise is fulfilled by answer(). Null when the
  // session already has its limit waiting: the caller drops it.
  kj::Maybe<kj::Promise<T>> open(session_id s, call_id c) {
    if (pending(s) >= per_session_)
      return nullptr;
    auto paf = kj::newPromiseAndFulfiller<T>();
    calls_.emplace(std::make_pair(s, c), kj::mv(paf.fulfiller));
    return kj::mv(paf.promise);
  }

  // Answers call `c` of session `s` and forgets it; false if it is gone (the session dropped).
  bool answer(session_id s, call_id c, T value) {
    auto it = calls_.find({s, c});
    if (it == calls_.end())
      return false;
    it->second->fulfill(kj::mv(value));
    calls_.erase(it);
    return true;
  }

  // Fails call `c` of session `s` with `e`; false if it is gone.
  bool fail(session_id s, call_id c, kj::Exception e) {
    auto it = calls_.find({s, c});
    if (it == calls_.end())
      return false;
    it->second->reject(kj::mv(e));
    calls_.erase(it);
    return true;
  }

  bool contains(session_id s, call_id c) const { return calls_.count({s, c}) > 0; }

  // The session went: its calls reject.
  void drop_session(session_id s) { calls_.erase(first(s), end(s)); }
  void clear() { calls_.clear(); }

private:
  using key = std::pair<session_id, call_id>;
  using map = std::map<key, kj::Own<kj::PromiseFulfiller<T>>>;
  typename map::const_iterator first(session_id s) const { return calls_.lower_bound({s, 0}); }
  typename map::const_iterator end(session_id s) const { return calls_.lower_bound({s + 1, 0}); }
  typename map::iterator first(session_id s) { return calls_.lower_bound({s, 0}); }
  typename map::iterator end(session_id s) { return calls_.lower_bound({s + 1, 0}); }

  long per_session_;
  map calls_;
};

} // namespace cascade::rpc
