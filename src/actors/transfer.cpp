// One actor per in-flight file, on a thread of its own (it writes to disk). It copies the
// chunks we already hold, then either receives a push (and relays it on: actors/relay.hpp) or
// pulls (transfer_pull.cpp), checks every chunk's hash before it counts, and fsyncs the temp
// file; the index then renames it into place. A failed attempt keeps its temp file and
// verified chunks (core::partial_files) for the next one.
#include <chrono>
#include <cstring>
#include <span>

#include "actors/transfer_logic.hpp"
#include "io/log.hpp"

namespace cascade::actors::transfer_detail {

namespace {

std::string from(const stream_state& s) {
  return s.from.empty() ? "" : " (from " + s.from + ")";
}

} // namespace

std::size_t count(const std::vector<bool>& v) {
  return static_cast<std::size_t>(std::count(v.begin(), v.end(), true));
}

std::string short_of(const core::device_id& d) {
  return core::format_device_id(d).substr(0, 7);
}

void transfer_logic::finish(std::string error) {
  auto& s = st();
  if (s.reported)
    return;
  s.reported = true;
  for (auto& str : s.streams)
    if (!str.done)
      ctx_->net->cancel_fetch(str.fetch);
  auto& r = s.job.record;
  if (error.empty() && count(s.verified) != s.verified.size())
    error = "not every chunk arrived";
  if (error.empty())
    error = s.file->seal(r.mode, r.mtime_ns); // mode and time first: part of what is durable
  s.file.reset();
  s.result.error = error;
  s.result.chunks_held = count(s.verified);
  self_->send(index_, finished_atom::value, std::move(s.result));
  if (s.ds)
    s.ds->finish(error);
  if (!s.ds || !s.ds->active())
    self_->quit(); // else once the downstream has everything
}

// Opens (or reopens, to resume) the temp file and copies what we hold locally; every copied
// chunk is verified like a received one. False if it failed (then finished).
bool transfer_logic::prepare() {
  auto& s = st();
  auto& r = s.job.record;
  s.verified = s.job.verified;
  s.verified.resize(r.chunks.size(), false);
  // A resume reopens only a regular file of ours with one link (never a symlink); anything
  // else starts a fresh file under the same unpredictable name, created O_EXCL.
  auto& files = *ctx_->files;
  if (count(s.verified) > 0) {
    s.file = files.reopen_temp(s.job.tmp_path);
    if (!s.file) {
      io::log_warn("cannot resume " + s.job.tmp_path + ": " + std::strerror(errno) + "; starting " +
                   r.path + " again");
      std::fill(s.verified.begin(), s.verified.end(), false);
      if (ctx_->partials)
        ctx_->partials->put(r, s.job.tmp_path, {}); // serve nothing of it to peers
    }
  }
  if (!s.file) {
    files.remove_temp(s.job.tmp_path); // a failed attempt's file, if any
    s.file = files.create_temp(s.job.tmp_path);
  }
  if (!s.file) {
    finish("cannot create " + s.job.tmp_path + ": " + std::strerror(errno));
    return false;
  }
  for (auto& [path, stamp] : s.job.trusted)
    place_trusted(path, stamp);
  std::vector<std::uint8_t> buf;
  std::string open_path; // the source of the last copy, kept open for the next
  std::unique_ptr<io::open_file> in;
  std::vector<std::size_t> missing;
  for (auto i : s.job.missing)
    if (!s.verified[i])
      missing.push_back(i);
  for (auto& c : s.job.copies) {
    if (s.verified[c.chunk_index])
      continue;
    auto& ch = r.chunks[c.chunk_index];
    buf.resize(ch.length);
    if (!in || open_path != c.from.path) {
      in = files.open_read(c.from.path);
      open_path = c.from.path;
    }
    if (in && in->read_at(c.from.offset, buf) && io::sha256(buf) == ch.hash &&
        s.file->write_at(ch.offset, buf)) {
      mark(c.chunk_index);
      s.result.bytes_copied += ch.length;
    } else {
      missing.push_back(c.chunk_index); // the local copy changed meanwhile: fetch it instead
    }
  }
  std::sort(missing.begin(), missing.end());
  missing.erase(std::unique(missing.begin(), missing.end()), missing.end());
  s.missing = std::move(missing);
  if (!s.file->resize(r.size)) {
    finish(std::string("cannot size temp file: ") + std::strerror(errno));
    return false;
  }
  return true;
}

// The index hashed this file when it recorded it; while it still is that file (inode, size and
// mtime as recorded, nothing changed it during the copy: mtime and ctime the same after), its
// chunks are what the index says. Anything else falls back to copy-and-verify in prepare().
void transfer_logic::place_trusted(const std::string& path, const source_stamp& stamp) {
  auto& s = st();
  auto& r = s.job.record;
  auto in = io::open_indexed(*ctx_->files, path, stamp.inode, stamp.size, stamp.mtime_ns);
  if (!in)
    return;
  std::vector<std::size_t> placed;
  for (auto& run : core::copy_runs(r, s.job.copies, path, std::uint64_t{64} << 20)) {
    if (!s.file->copy_from(*in->file, run.from_offset, run.to_offset, run.length))
      return; // prepare() copies them one by one, with their hashes checked
    placed.insert(placed.end(), run.chunks.begin(), run.chunks.end());
  }
  if (!in->unchanged())
    return;
  for (auto i : placed)
    if (!s.verified[i]) {
      mark(i);
      s.result.bytes_copied += r.chunks[i].length;
    }
}

void transfer_logic::mark(std::size_t chunk) {
  st().verified[chunk] = true;
  if (ctx_->partials)
    ctx_->partials->mark(st().job.record.path, st().job.record.version, chunk);
}

// Pushed to us: every chunk arrives through the offer's sink; each is passed on once verified.
void transfer_logic::start_push() {
  auto& s = st();
  stream_state str;
  str.session = s.job.session;
  for (auto& [device, session] : s.job.relay.peers)
    if (session == s.job.session) {
      str.device = device;
      str.from = short_of(device);
    }
  str.chunks = s.job.missing; // the upstream streams the whole file, in order
  s.streams.push_back(std::move(str));
  s.streams[0].fetch = ctx_->net->accept_offer(
      s.job.session, *s.job.offer_call, std::make_shared<receiver>(transfer_actor{self_}, 0));
  s.ds.emplace(*ctx_, s.job.record, s.job.relay, push_owner_actor{self_}, self_->clock());
  s.ds->start();
  on_downstream();
}

void transfer_logic::on_pieces(std::size_t k, std::vector<rpc::piece>& pieces) {
  auto& s = st();
  if (s.reported || k >= s.streams.size())
    return;
  auto& str = s.streams[k];
  auto& chunks = s.job.record.chunks;
  std::vector<rpc::piece> verified; // forwarded as one frame, sharing the buffers
  for (auto& p : pieces) {
    std::uint64_t off = p.offset;
    std::size_t pos = 0;
    auto& bytes = p.data;
    while (pos < bytes.size()) {
      if (str.next >= str.chunks.size())
        return bad_data(str, "peer sent more than was asked");
      auto idx = str.chunks[str.next];
      auto& ch = chunks[idx];
      if (off != ch.offset + str.assembled)
        return bad_data(str, "peer sent bytes out of order");
      auto take = std::min<std::size_t>(bytes.size() - pos, ch.length - str.assembled);
      // A chunk that lies whole in this piece is hashed and written from the received buffer
      // (no copy); one split across pieces is assembled in a pooled block first.
      std::span<const std::uint8_t> whole;
      rpc::buffer shared; // the chunk as a buffer of its own
      if (str.assembled == 0 && take == ch.length) {
        whole = {bytes.data() + pos, take};
        shared = bytes.slice(pos, take);
      } else {
        if (!str.current)
          str.current = io::frame_pool().acquire(ch.length);
        std::memcpy(str.current.data() + str.assembled, bytes.data() + pos, take);
        str.assembled += take;
        whole = {str.current.data(), str.assembled};
      }
      pos += take;
      off += take;
      if (whole.size() < ch.length)
        continue;
      if (io::sha256(whole) != ch.hash)
        return bad_data(str, "chunk at offset " + std::to_string(ch.offset) +
                                 " does not match its hash");
      ++str.next;
      if (!s.verified[idx]) { // a push resends what we may hold: forwarded, not rewritten
        if (!s.file->write_at(ch.offset, whole))
          return finish(std::string("cannot write temp file: ") + std::strerror(errno));
        mark(idx);
        s.result.bytes_fetched += ch.length;
      }
      const bool forward = s.ds && s.ds->active();
      if (forward && !shared) {
        str.current.zero_pad(ch.length);
        shared = str.current.share(0, ch.length);
      }
      str.current = {};
      str.assembled = 0;
      // Consecutive chunks of one received piece go on as one piece again.
      if (!forward)
        continue;
      if (!verified.empty())
        if (auto joined = io::buffer::join(verified.back().data, shared)) {
          verified.back().data = std::move(*joined);
          continue;
        }
      verified.push_back({ch.offset, std::move(shared)});
    }
  }
  if (s.ds)
    s.ds->forward(std::move(verified));
  s.meter.sample(std::chrono::steady_clock::now().time_since_epoch().count(),
                 s.result.bytes_fetched);
  if (k == 0 && s.job.offer_call && s.ds && s.ds->holding())
    ++s.held_credit; // given back by on_downstream() once the downstream caught up
  else
    ctx_->net->consumed(str.fetch, 1);
}

// The holder sent what the record says it cannot be: the index asks the others next time.
void transfer_logic::bad_data(const stream_state& str, const std::string& what) {
  st().result.bad_source = str.device;
  finish(what + from(str));
}

void transfer_logic::on_done(std::size_t k, const std::string& error) {
  auto& s = st();
  if (s.reported || k >= s.streams.size())
    return;
  auto& str = s.streams[k];
  str.done = true;
  const bool push = k == 0 && s.job.offer_call && !s.planned && s.round == 0;
  if (push && !error.empty())
    return continue_as_pull(error + from(str));
  if (push && count(s.verified) < s.verified.size())
    return continue_as_pull("the upstream ended early" + from(str));
  if (!error.empty())
    return finish(error + from(str));
  if (std::all_of(s.streams.begin(), s.streams.end(), [](auto& x) { return x.done; }))
    streams_done();
}

core::actor_status transfer_logic::status() {
  auto& s = st();
  auto a = core::status_of("transfer", s.job.record.path, self_->mailbox().size());
  core::transfer_status t;
  t.path = s.job.record.path;
  t.size = s.job.record.size;
  t.fetched = s.result.bytes_fetched;
  t.copied = s.result.bytes_copied;
  t.rate = s.meter.rate();
  t.upstream_session = s.streams.empty() ? s.job.session : s.streams[0].session;
  t.started_ns = s.started_ns;
  a.state = std::to_string(t.fetched) + " fetched + " + std::to_string(t.copied) + " copied of " +
            std::to_string(t.size) + " bytes, " + std::to_string(count(s.verified)) + " of " +
            std::to_string(s.verified.size()) + " chunks verified" +
            (s.plan_text.empty() ? "" : " (" + s.plan_text + ")") +
            (s.job.offer_call || s.planned ? "" : ", asking who holds it") +
            (s.ds ? ", " + s.ds->describe() : "");
  if (s.ds && s.ds->peer())
    t.downstreams.push_back(core::format_device_id(*s.ds->peer()));
  a.counters = {{"size", t.size}, {"fetched", t.fetched}, {"copied", t.copied}};
  a.transfer = std::move(t);
  return a;
}

void transfer_logic::on_downstream() {
  auto& s = st();
  if (!s.ds)
    return;
  // Credit held back while the downstream lagged goes to the upstream once it caught up (or
  // is gone): a downstream nearly as fast as we are keeps the chain in lockstep.
  if (s.held_credit > 0 && !s.ds->holding() && !s.streams.empty()) {
    ctx_->net->consumed(s.streams[0].fetch, s.held_credit);
    s.held_credit = 0;
  }
  if (s.ds->active() && !s.ticking) {
    s.ticking = true;
    self_->delayed_send(self_, downstream::tick_interval, ds_tick_atom::value);
  }
  if (s.reported && !s.ds->active())
    self_->quit();
}

namespace {

transfer_actor::behavior_type transfer(self_ptr self, const node_context* ctx, transfer_job job,
                                       index_actor index) {
  auto& st = self->state;
  st.job = std::move(job);
  st.result.record = st.job.record;
  st.result.tmp_path = st.job.tmp_path;
  auto logic = std::make_shared<transfer_logic>(self, ctx, std::move(index));
  if (logic->prepare()) {
    if (st.job.offer_call)
      logic->start_push();
    else
      logic->start_pull();
  }
  return {
      [logic](pieces_atom, std::size_t k, std::vector<rpc::piece>& pieces) {
        logic->on_pieces(k, pieces);
      },
      [logic](done_atom, std::size_t k, const std::string& error) { logic->on_done(k, error); },
      [logic](have_reply_atom, std::size_t k, std::size_t round, rpc::have_answer& a) {
        logic->on_have(k, round, a);
      },
      [logic](round_atom) { logic->next_round(); },
      [logic](suspend_atom) { logic->finish(transfer_paused); }, // the user's pause: chunks kept
      [self, logic](ds_answer_atom, bool accepted) {
        self->state.ds->on_answer(accepted);
        logic->on_downstream();
      },
      [self, logic](ds_sent_atom, std::size_t frames) {
        self->state.ds->on_sent(frames);
        logic->on_downstream();
      },
      [self, logic](ds_failed_atom, const std::string& error) {
        self->state.ds->on_failed(error);
        logic->on_downstream();
      },
      [self, logic](ds_tick_atom) {
        self->state.ticking = false;
        self->state.ds->tick();
        logic->on_downstream();
      },
      [logic](status_atom) { return logic->status(); },
  };
}

} // namespace

} // namespace cascade::actors::transfer_detail

namespace cascade::actors {

transfer_actor spawn_transfer(caf::actor_system& sys, const node_context& ctx, transfer_job job,
                              index_actor index) {
  return spawn_io(sys, ctx, transfer_detail::transfer, &ctx, std::move(job), std::move(index));
}

} // namespace cascade::actors
