// The transfer actor's state and logic (transfer.cpp: the file, the push and the actor;
// transfer_pull.cpp: asking who holds what and fetching it, in rounds). Private to those two.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actors/actors.hpp"
#include "actors/relay.hpp"
#include "core/rate.hpp"

namespace cascade::actors::transfer_detail {

// One incoming stream of chunks: a fetch from one holder, or the offer's sink.
struct stream_state {
  rpc::fetch_id fetch = 0;
  rpc::session_id session = 0;
  std::optional<core::device_id> device;
  std::string from;                // the holder's short id, for messages
  std::vector<std::size_t> chunks; // chunk indexes, in the order they arrive
  std::size_t next = 0;            // into chunks: the one being assembled
  io::block_ref current;           // a chunk split across pieces, assembled (pooled)
  std::size_t assembled = 0;       // bytes of it in `current`
  bool done = false;
};

struct transfer_state {
  static inline const char* name = "transfer";
  transfer_job job;
  std::unique_ptr<io::open_file> file; // the temp file
  std::vector<bool> verified;       // per chunk
  std::vector<std::size_t> missing; // what is left after local copies and a resume
  std::vector<stream_state> streams;
  std::map<std::size_t, rpc::have_answer> answers; // by index into job.sources, this round
  bool planned = false;                            // this round
  std::size_t round = 0;        // pull rounds so far (a partial holder may have more next time)
  std::size_t idle_rounds = 0;  // rounds in a row that got no chunk
  std::size_t held_before = 0;  // verified chunks when this round started
  std::size_t unheld = 0;       // missing chunks no connected peer holds (this round)
  bool partial_holders = false; // this round's plan counted on a peer still receiving
  std::string plan_text;
  transfer_result result;
  bool reported = false;
  std::optional<downstream> ds; // where verified chunks go next (push cascade)
  std::size_t held_credit = 0;  // frames of the push not yet consumed: the downstream lags
  bool ticking = false;         // a ds_tick is scheduled
  core::rate_meter meter;       // received bytes, for the console
  std::int64_t started_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
};

using self_ptr = transfer_actor::stateful_pointer<transfer_state>;

// Forwards one stream's callbacks from the KJ thread to the actor as messages. The network
// holds it weakly (an address): a finished transfer ends even if its stream lingers there.
class receiver final : public rpc::chunk_receiver {
public:
  receiver(const transfer_actor& a, std::size_t stream) : actor_(a.address()), stream_(stream) {}
  void on_pieces(std::vector<rpc::piece> pieces) override {
    if (auto a = caf::actor_cast<transfer_actor>(actor_))
      caf::anon_send(a, pieces_atom::value, stream_, std::move(pieces));
  }
  void on_done(const std::string& error) override {
    if (auto a = caf::actor_cast<transfer_actor>(actor_))
      caf::anon_send(a, done_atom::value, stream_, error);
  }

private:
  caf::actor_addr actor_;
  std::size_t stream_;
};

std::size_t count(const std::vector<bool>& v);
std::string short_of(const core::device_id& d);

class transfer_logic {
public:
  transfer_logic(self_ptr self, const node_context* ctx, index_actor index)
      : self_(self), ctx_(ctx), index_(std::move(index)) {}

  transfer_state& st() { return self_->state; }

  // transfer.cpp
  void finish(std::string error);
  bool prepare();
  // Copies the chunks held by a local file the index vouches for (core::copy_runs, one kernel
  // copy per run) and marks them verified if the file did not change meanwhile.
  void place_trusted(const std::string& path, const source_stamp& stamp);
  void start_push();
  void on_pieces(std::size_t k, std::vector<rpc::piece>& pieces);
  void on_done(std::size_t k, const std::string& error);
  void on_downstream(); // after any event of the downstream: credit, ticks, quitting
  core::actor_status status();

  // transfer_pull.cpp
  void start_pull();
  void on_have(std::size_t k, std::size_t round, rpc::have_answer& a);
  void plan();
  void next_round(); // asks every source what it holds now
  // A push that ended before the whole file arrived: the missing chunks are pulled.
  void continue_as_pull(const std::string& why);

private:
  void mark(std::size_t chunk);
  void bad_data(const stream_state& str, const std::string& what);
  std::string unheld_error();
  void streams_done(); // every stream of the pull ended well: finish, or pull another round

  self_ptr self_;
  const node_context* ctx_;
  index_actor index_;
};

} // namespace cascade::actors::transfer_detail
