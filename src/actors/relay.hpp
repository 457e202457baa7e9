// The downstream side of the push cascade, shared by the transfer actor (a relay: it forwards
// each chunk once verified) and the upload actor (the source). It offers the file along the
// plan (core::next_hop), moves on when a peer declines, and paces the peer (core::downstream_pace):
// the owner stops taking input while the peer is far behind (holding()), and a peer much slower
// than the input over a window is handed to repair (it pulls instead).
#pragma once

#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "actors/actors.hpp"
#include "core/pace.hpp"

namespace cascade::actors {

class downstream {
public:
  static constexpr std::size_t window = 16; // frames in flight from a source to the peer
  static constexpr std::size_t source_lag_bytes = 4 << 20; // and bytes
  // How often the owner asks tick() while the peer is active (a stalled peer sends nothing).
  static constexpr auto tick_interval = std::chrono::milliseconds(250);

  // `clock`: the actor system's (its test coordinator's in the actor tests), which paces the peer.
  downstream(const node_context& ctx, core::file_record record, relay_plan plan,
             push_owner_actor owner, const caf::actor_clock& clock);

  // Offers the file to the next peer of the plan; false if there is nobody left.
  bool start();
  // Answers from the KJ thread (the owner forwards ds_* messages here).
  void on_answer(bool accepted);
  void on_sent(std::size_t frames);
  void on_failed(const std::string& error);

  // Forwards a frame of verified bytes (the peer is dropped if it fell too far behind).
  void forward(std::vector<rpc::piece> pieces);
  // Judges the peer's pace now (drops it to repair if it stalled far behind).
  void tick();
  // The owner should take no more input (hold its upstream's credit) until the peer catches up.
  bool holding() const { return active() && pace_.hold(); }
  // No more frames: `error` empty if the file is complete.
  void finish(const std::string& error);

  // Offering, streaming, or finishing (the owner is done; frames are still on their way, and
  // the peer is still paced: a slow one is handed to repair then too).
  bool active() const {
    return state_ == state::offering || state_ == state::streaming || state_ == state::finishing;
  }
  // A source may push another frame (it stays well inside the lag a relay tolerates).
  bool has_room() const {
    return state_ == state::streaming && in_flight_ < window && bytes_in_flight_ < source_lag_bytes;
  }
  std::string describe() const;
  // The peer being offered or streamed the file, if any (the console's downstreams).
  std::optional<core::device_id> peer() const { return active() ? peer_ : std::nullopt; }

private:
  enum class state { idle, offering, streaming, finishing, done };
  void drop(const std::string& why);
  void judge();                              // drops the peer if core::downstream_pace says so
  void finish_stream();                      // the done call after the frames (finish_error_ set)
  void send(std::vector<rpc::piece> pieces); // one frame to the peer, counted in flight
  std::int64_t now_ns() const;

  const node_context& ctx_;
  core::file_record record_;
  relay_plan plan_;
  caf::actor_addr owner_; // weak: the owner holds this object in its state
  state state_ = state::idle;
  std::optional<core::device_id> peer_;
  rpc::transport::push_id push_ = 0;
  std::size_t in_flight_ = 0;
  std::size_t bytes_in_flight_ = 0;     // of the frames below
  std::deque<std::size_t> frame_bytes_; // per frame in flight, oldest first
  std::deque<std::vector<rpc::piece>> backlog_;
  std::optional<std::string> finish_error_; // set once the owner finished
  std::vector<core::device_id> declined_;
  core::downstream_pace pace_; // bytes handed on vs bytes the peer took
  const caf::actor_clock& clock_;
};

} // namespace cascade::actors
