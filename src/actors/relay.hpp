// The downstream side of the push cascade, shared by the transfer actor (a relay: it forwards
// each chunk once verified) and the upload actor (the source). It offers the file along the
// plan (core::next_hop), moves on when a peer declines, keeps a bounded window of frames in
// flight, and hands a peer that falls far behind to repair (it will pull instead).
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "actors/actors.hpp"

namespace cascade::actors {

class downstream {
public:
  static constexpr std::size_t window = 16;      // frames in flight to the peer
  static constexpr std::size_t max_backlog = 64; // frames held while an offer is pending
  // Bytes queued for the peer beyond what its stream took: past this it has fallen far behind
  // (at 100 Mbit/s, about 0.7 s of lag) and is handed to repair, so a slow peer neither slows
  // its upstream nor makes it hold the file in memory.
  static constexpr std::size_t max_lag_bytes = 8 << 20;

  downstream(const node_context& ctx, core::file_record record, relay_plan plan, caf::actor owner);

  // Offers the file to the next peer of the plan; false if there is nobody left.
  bool start();
  // Answers from the KJ thread (the owner forwards ds_* messages here).
  void on_answer(bool accepted);
  void on_sent(std::size_t frames);
  void on_failed(const std::string& error);

  // Forwards a frame of verified bytes (dropped if the peer fell too far behind).
  void forward(std::vector<rpc::piece> pieces);
  // No more frames: `error` empty if the file is complete.
  void finish(const std::string& error);

  bool active() const { return state_ == state::offering || state_ == state::streaming; }
  // A source may push another frame (it stays well inside the lag a relay tolerates).
  bool has_room() const {
    return state_ == state::streaming && in_flight_ < window &&
           bytes_in_flight_ < max_lag_bytes / 2;
  }
  std::string describe() const;
  // The peer being offered or streamed the file, if any (the console's downstreams).
  std::optional<core::device_id> peer() const { return active() ? peer_ : std::nullopt; }

private:
  enum class state { idle, offering, streaming, done };
  void drop(const std::string& why);
  void send(std::vector<rpc::piece> pieces); // one frame to the peer, counted in flight

  const node_context& ctx_;
  core::file_record record_;
  relay_plan plan_;
  caf::actor_addr owner_; // weak: the owner holds this object in its state
  state state_ = state::idle;
  std::optional<core::device_id> peer_;
  rpc::network::push_id push_ = 0;
  std::size_t in_flight_ = 0;
  std::size_t bytes_in_flight_ = 0;     // of the frames below
  std::deque<std::size_t> frame_bytes_; // per frame in flight, oldest first
  std::deque<std::vector<rpc::piece>> backlog_;
  std::optional<std::string> finish_error_; // set once the owner finished
  std::vector<core::device_id> declined_;
};

} // namespace cascade::actors
