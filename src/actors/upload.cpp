// The upload actor: the source of a push cascade. It reads a file we hold, checks that it is
// still the version that was hashed, and pushes frames to the first peer of the plan, no
// faster than that peer takes them.
#include <chrono>

#include "actors/actors.hpp"
#include "actors/relay.hpp"
#include "core/rate.hpp"
#include "io/log.hpp"

namespace cascade::actors {

namespace {

constexpr std::size_t frame_bytes = 1024 * 1024;
// A frame and its message fit one pooled block on the receiver (io::buffer_pool::block_bytes).
constexpr std::size_t max_frame_data = frame_bytes + 32 * 1024;

struct upload_state {
  static inline const char* name = "upload";
  core::file_record record;
  std::unique_ptr<io::open_file> file;
  std::size_t next_chunk = 0;
  std::optional<downstream> ds;
  std::uint64_t pushed = 0; // bytes handed to the downstream, for the console
  core::rate_meter meter;
  std::int64_t started_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
};

upload_actor::behavior_type upload(upload_actor::stateful_pointer<upload_state> self,
                                   const node_context* ctx, core::file_record record,
                                   relay_plan plan) {
  auto& st = self->state;
  st.record = std::move(record);
  st.file = ctx->files->open_read(st.record.path);
  st.ds.emplace(*ctx, st.record, std::move(plan), push_owner_actor{self}, self->clock());
  if (!st.file || !st.ds->start()) {
    self->quit();
    return upload_actor::behavior_type::make_empty_behavior();
  }
  // Reads and pushes while the peer has room in its window.
  auto pump = [self] {
    auto& st = self->state;
    auto& chunks = st.record.chunks;
    auto& pool = io::frame_pool();
    while (st.ds->has_room() && st.next_chunk < chunks.size()) {
      // A frame is whole consecutive chunks, read with one pread into a pooled block and sent
      // as one piece that the message references: no per-frame allocation, no copy.
      auto first = st.next_chunk;
      std::size_t bytes = 0;
      while (st.next_chunk < chunks.size() && bytes < frame_bytes &&
             (bytes == 0 || bytes + chunks[st.next_chunk].length <= max_frame_data)) {
        bytes += chunks[st.next_chunk].length;
        ++st.next_chunk;
      }
      auto block = pool.acquire(bytes);
      bool read = st.file->read_at(chunks[first].offset, {block.data(), bytes});
      // Every receiver checks each chunk's hash; here a cheap check that the file is still
      // the one that was hashed spares a second SHA-256 pass over it.
      auto now = st.file->identity();
      bool same = now && now->regular && now->mtime_ns == st.record.mtime_ns &&
                  now->size == st.record.size;
      if (!read || !same) {
        st.ds->finish(st.record.path + " changed while it was pushed");
        self->quit();
        return;
      }
      block.zero_pad(bytes);
      std::vector<rpc::piece> frame;
      frame.push_back({chunks[first].offset, block.share(0, bytes)});
      st.ds->forward(std::move(frame));
      st.pushed += bytes;
      st.meter.sample(std::chrono::steady_clock::now().time_since_epoch().count(), st.pushed);
    }
    if (st.next_chunk == chunks.size() && st.ds->has_room()) {
      st.ds->finish("");
      self->quit();
    } else if (!st.ds->active()) {
      self->quit(); // the peer was dropped or failed: it repairs from the index
    }
  };
  return {
      [self, pump](ds_answer_atom, bool accepted) {
        self->state.ds->on_answer(accepted);
        if (!self->state.ds->active())
          self->quit(); // nobody took it
        else
          pump();
      },
      [self, pump](ds_sent_atom, std::size_t frames) {
        self->state.ds->on_sent(frames);
        pump();
      },
      [self](ds_failed_atom, const std::string& error) {
        self->state.ds->on_failed(error);
        self->quit();
      },
      [self](ds_tick_atom) { // from the index, every second
        self->state.ds->tick();
        if (!self->state.ds->active())
          self->quit(); // a peer too slow or silent repairs from the index
      },
      [self](status_atom) {
        auto& st = self->state;
        auto s = core::status_of("upload", st.record.path, self->mailbox().size());
        s.state = "chunk " + std::to_string(st.next_chunk) + " of " +
                  std::to_string(st.record.chunks.size()) + ", " + st.ds->describe();
        core::transfer_status t; // the source's side: what went to the first downstream
        t.path = st.record.path;
        t.size = st.record.size;
        t.fetched = st.pushed;
        t.rate = st.meter.rate();
        t.started_ns = st.started_ns;
        if (auto p = st.ds->peer())
          t.downstreams.push_back(core::format_device_id(*p));
        s.counters = {{"size", t.size}, {"pushed", st.pushed}};
        s.transfer = std::move(t);
        return s;
      },
  };
}

} // namespace

upload_actor spawn_upload(caf::actor_system& sys, const node_context& ctx, core::file_record record,
                          relay_plan relay) {
  return spawn_io(sys, ctx, upload, &ctx, std::move(record), std::move(relay));
}

} // namespace cascade::actors
