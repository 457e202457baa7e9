#include "actors/relay.hpp"

#include "core/relay.hpp"
#include "io/log.hpp"

namespace cascade::actors {

namespace {

// Posts the KJ thread's answers to the owning actor, held weakly (an address): the network
// keeps a push until its continuations ran, which must not keep the actor alive.
class observer final : public rpc::push_observer {
public:
  explicit observer(caf::actor_addr a) : actor_(std::move(a)) {}
  void on_answer(bool accepted) override { post(ds_answer_atom::value, accepted); }
  void on_sent(std::size_t frames) override { post(ds_sent_atom::value, frames); }
  void on_failed(const std::string& error) override { post(ds_failed_atom::value, error); }

private:
  template <class... Ts> void post(Ts&&... xs) {
    if (auto a = caf::actor_cast<push_owner_actor>(actor_))
      caf::anon_send(a, std::forward<Ts>(xs)...);
  }
  caf::actor_addr actor_;
};

std::string short_name(const core::device_id& d) {
  return core::format_device_id(d).substr(0, 7);
}

std::string mib(std::uint64_t bytes) {
  auto tenths = bytes * 10 / (1 << 20);
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " MiB";
}

} // namespace

downstream::downstream(const node_context& ctx, core::file_record record, relay_plan plan,
                       push_owner_actor owner, const caf::actor_clock& clock)
    : ctx_(ctx), record_(std::move(record)), plan_(std::move(plan)), owner_(owner.address()),
      clock_(clock) {}

std::int64_t downstream::now_ns() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_.now().time_since_epoch())
      .count();
}

bool downstream::start() {
  std::vector<core::device_id> connected;
  for (auto& [d, s] : plan_.peers)
    connected.push_back(d);
  auto skip = plan_.visited;
  skip.insert(skip.end(), declined_.begin(), declined_.end());
  auto step = core::next_hop(plan_.rest, connected, skip);
  if (!step.next) {
    state_ = state::done;
    return false;
  }
  rpc::session_id session = 0;
  for (auto& [d, s] : plan_.peers)
    if (d == *step.next)
      session = s;
  peer_ = *step.next;
  state_ = state::offering;
  auto visited = plan_.visited;
  rpc::wire_entry e;
  e.record = record_;
  push_ = ctx_.net->offer(session, std::move(e), step.rest, std::move(visited),
                          std::make_shared<observer>(owner_));
  plan_.rest = step.rest; // what the peer continues, should it decline we try the next
  return true;
}

void downstream::on_answer(bool accepted) {
  if (state_ != state::offering)
    return;
  if (!accepted) {
    declined_.push_back(*peer_);
    if (!start() && finish_error_)
      state_ = state::done;
    return;
  }
  state_ = state::streaming;
  io::log_info("relay " + record_.path + ": downstream " + short_name(*peer_));
  while (!backlog_.empty()) {
    send(std::move(backlog_.front()));
    backlog_.pop_front();
  }
  if (finish_error_)
    finish_stream();
}

void downstream::finish_stream() {
  ctx_.net->finish_push(push_, *finish_error_);
  state_ = in_flight_ > 0 ? state::finishing : state::done;
}

void downstream::on_sent(std::size_t frames) {
  std::size_t bytes = 0;
  for (; frames > 0 && !frame_bytes_.empty(); --frames) {
    bytes += frame_bytes_.front();
    bytes_in_flight_ -= frame_bytes_.front();
    frame_bytes_.pop_front();
    --in_flight_;
  }
  if (bytes > 0)
    pace_.taken(bytes, now_ns());
  if (state_ == state::finishing && in_flight_ == 0)
    state_ = state::done;
}

void downstream::tick() {
  if (active())
    judge();
}

void downstream::judge() {
  auto verdict = pace_.check(now_ns());
  if (verdict == core::pace_verdict::keep)
    return;
  auto& l = pace_.limits();
  auto how = " (" + mib(pace_.lag()) + " behind, took " + mib(pace_.taken_bytes()) + " of " +
             mib(pace_.input_bytes()) + ")";
  if (state_ == state::offering)
    return drop("did not answer the offer in time" + how);
  if (verdict == core::pace_verdict::stalled)
    return drop("took nothing for " + std::to_string(l.stall_ns / 1'000'000'000) + " s" + how);
  drop(verdict == core::pace_verdict::capped
           ? "fell far behind, past " + mib(l.cap_lag) + how
           : "fell far behind, under " + std::to_string(static_cast<int>(l.min_share * 100)) +
                 "% of the input's rate over " + std::to_string(l.window_ns / 1'000'000) + " ms" +
                 how);
}

void downstream::send(std::vector<rpc::piece> pieces) {
  std::size_t bytes = 0;
  for (auto& p : pieces)
    bytes += p.data.size();
  ctx_.net->push(push_, std::move(pieces));
  ++in_flight_;
  bytes_in_flight_ += bytes;
  frame_bytes_.push_back(bytes);
}

void downstream::on_failed(const std::string& error) {
  if (state_ == state::done || state_ == state::idle)
    return;
  io::log_warn("relay " + record_.path + " to " + (peer_ ? short_name(*peer_) : "?") +
               " stopped: " + error + " (it repairs from the index)");
  state_ = state::done;
  backlog_.clear();
  frame_bytes_.clear();
  in_flight_ = bytes_in_flight_ = 0;
}

void downstream::drop(const std::string& why) {
  if (state_ == state::streaming || state_ == state::finishing)
    ctx_.net->finish_push(push_, why, true); // frames still queued for it are not sent
  io::log_warn("relay " + record_.path + ": " + (peer_ ? short_name(*peer_) : "?") + " " + why +
               "; it repairs from the index");
  state_ = state::done;
  backlog_.clear();
  frame_bytes_.clear();
  in_flight_ = bytes_in_flight_ = 0;
}

void downstream::forward(std::vector<rpc::piece> pieces) {
  if (pieces.empty() || (state_ != state::offering && state_ != state::streaming))
    return;
  std::size_t bytes = 0;
  for (auto& p : pieces)
    bytes += p.data.size();
  pace_.input(bytes, now_ns());
  if (state_ == state::offering)
    backlog_.push_back(std::move(pieces));
  else
    send(std::move(pieces));
  judge();
}

void downstream::finish(const std::string& error) {
  if (finish_error_)
    return; // the first word stands (a relay that gave up on its upstream, then finished)
  finish_error_ = error;
  if (state_ == state::streaming) {
    finish_stream();
  } else if (state_ == state::idle) {
    state_ = state::done;
  }
  // offering: finished once the peer answers
}

std::string downstream::describe() const {
  if (!peer_)
    return "no downstream";
  const char* names[] = {"idle", "offering", "streaming", "finishing", "done"};
  return "downstream " + short_name(*peer_) + " " + names[static_cast<int>(state_)] + ", " +
         std::to_string(in_flight_) + " frames (" + std::to_string(bytes_in_flight_) +
         " bytes) in flight" + (pace_.hold() ? ", holding the upstream" : "");
}

} // namespace cascade::actors
