// One actor per in-flight file, on a thread of its own (it writes to disk). It copies the
// chunks we already hold, asks the peers what they hold of the version, fetches the rest from
// all holders at once (partial holders included: DESIGN.md §4), checks every chunk's hash
// before it counts, and fsyncs the temp file; the index then renames it into place. A failed
// attempt keeps its temp file and verified chunks (core::partial_files) for the next one.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <span>

#include "actors/actors.hpp"
#include "actors/relay.hpp"
#include "core/rate.hpp"
#include "core/repair.hpp"
#include "io/log.hpp"

namespace cascade::actors {

namespace {

// How long a pull waits for the peers' have answers before it plans with those it got.
constexpr auto have_wait = std::chrono::seconds(2);
constexpr std::uint64_t max_range_bytes = 64 * 1024 * 1024;

// One incoming stream of chunks: a fetch from one holder, or the offer's sink.
struct stream_state {
  rpc::fetch_id fetch = 0;
  rpc::session_id session = 0;
  std::optional<core::device_id> device;
  std::string from;                // the holder's short id, for messages
  std::vector<std::size_t> chunks; // chunk indexes, in the order they arrive
  std::size_t next = 0;            // into chunks: the one being assembled
  io::block_ref current;     // a chunk split across pieces, assembled (pooled)
  std::size_t assembled = 0; // bytes of it in `current`
  bool done = false;
};

struct transfer_state {
  static inline const char* name = "transfer";
  transfer_job job;
  io::unique_fd fd;
  std::vector<bool> verified;       // per chunk
  std::vector<std::size_t> missing; // what is left after local copies and a resume
  std::vector<stream_state> streams;
  std::map<std::size_t, rpc::have_answer> answers; // by index into job.sources
  bool planned = false;
  std::size_t unheld = 0; // missing chunks no connected peer holds
  std::string plan_text;
  transfer_result result;
  bool reported = false;
  std::optional<downstream> ds; // where verified chunks go next (push cascade)
  core::rate_meter meter;       // received bytes, for the console
  std::int64_t started_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
};

using self_ptr = caf::stateful_actor<transfer_state>*;

// Forwards one stream's callbacks from the KJ thread to the actor as messages. The network
// holds it weakly (an address): a finished transfer ends even if its stream lingers there.
class receiver final : public rpc::chunk_receiver {
public:
  receiver(const caf::actor& a, std::size_t stream) : actor_(a.address()), stream_(stream) {}
  void on_pieces(std::vector<rpc::piece> pieces) override {
    if (auto a = caf::actor_cast<caf::actor>(actor_))
      caf::anon_send(a, pieces_atom::value, stream_, std::move(pieces));
  }
  void on_done(const std::string& error) override {
    if (auto a = caf::actor_cast<caf::actor>(actor_))
      caf::anon_send(a, done_atom::value, stream_, error);
  }

private:
  caf::actor_addr actor_;
  std::size_t stream_;
};

bool write_all(int fd, const std::uint8_t* p, std::size_t n, std::uint64_t off) {
  while (n > 0) {
    auto w = ::pwrite(fd, p, n, static_cast<off_t>(off));
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return false;
    p += w;
    n -= static_cast<std::size_t>(w);
    off += static_cast<std::uint64_t>(w);
  }
  return true;
}

std::size_t count(const std::vector<bool>& v) {
  return static_cast<std::size_t>(std::count(v.begin(), v.end(), true));
}

std::string short_of(const core::device_id& d) {
  return core::format_device_id(d).substr(0, 7);
}

std::string from(const stream_state& s) {
  return s.from.empty() ? "" : " (from " + s.from + ")";
}

class transfer_logic {
public:
  transfer_logic(self_ptr self, const node_context* ctx, caf::actor index)
      : self_(self), ctx_(ctx), index_(std::move(index)) {}

  transfer_state& st() { return self_->state; }

  void finish(std::string error) {
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
    if (error.empty()) {
      // Mode and time first, then fsync: the mtime is part of what becomes durable.
      timespec ts[2];
      io::mtime_spec(r.mtime_ns, ts);
      if (::fchmod(s.fd.get(), r.mode & 07777) != 0 || ::futimens(s.fd.get(), ts) != 0)
        error = std::string("cannot set mode and mtime of the temp file: ") + std::strerror(errno);
      else if (::fsync(s.fd.get()) != 0)
        error = std::string("cannot sync the temp file: ") + std::strerror(errno);
    }
    s.fd = io::unique_fd();
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
  bool prepare() {
    auto& s = st();
    auto& r = s.job.record;
    s.verified = s.job.verified;
    s.verified.resize(r.chunks.size(), false);
    // A resume reopens only a regular file of ours with one link (never a symlink); anything
    // else starts a fresh file under the same unpredictable name, created O_EXCL.
    auto& tmp = *ctx_->tmp;
    if (count(s.verified) > 0) {
      s.fd = tmp.reopen(s.job.tmp_path);
      if (!s.fd) {
        io::log_warn("cannot resume " + s.job.tmp_path + ": " + std::strerror(errno) +
                     "; starting " + r.path + " again");
        std::fill(s.verified.begin(), s.verified.end(), false);
        if (ctx_->partials)
          ctx_->partials->put(r, s.job.tmp_path, {}); // serve nothing of it to peers
      }
    }
    if (!s.fd) {
      tmp.remove(s.job.tmp_path); // a failed attempt's file, if any
      s.fd = tmp.create(s.job.tmp_path);
    }
    if (!s.fd) {
      finish("cannot create " + s.job.tmp_path + ": " + std::strerror(errno));
      return false;
    }
    std::vector<std::uint8_t> buf;
    std::vector<std::size_t> missing;
    for (auto i : s.job.missing)
      if (!s.verified[i])
        missing.push_back(i);
    for (auto& c : s.job.copies) {
      if (s.verified[c.chunk_index])
        continue;
      auto& ch = r.chunks[c.chunk_index];
      buf.resize(ch.length);
      if (ctx_->folder->read_at(c.from.path, c.from.offset, buf) && io::sha256(buf) == ch.hash &&
          write_all(s.fd.get(), buf.data(), buf.size(), ch.offset)) {
        mark(c.chunk_index);
        s.result.bytes_copied += ch.length;
      } else {
        missing.push_back(c.chunk_index); // the local copy changed meanwhile: fetch it instead
      }
    }
    std::sort(missing.begin(), missing.end());
    missing.erase(std::unique(missing.begin(), missing.end()), missing.end());
    s.missing = std::move(missing);
    if (::ftruncate(s.fd.get(), static_cast<off_t>(r.size)) != 0) {
      finish(std::string("cannot size temp file: ") + std::strerror(errno));
      return false;
    }
    return true;
  }

  void mark(std::size_t chunk) {
    st().verified[chunk] = true;
    if (ctx_->partials)
      ctx_->partials->mark(st().job.record.path, st().job.record.version, chunk);
  }

  // Pushed to us: every chunk arrives through the offer's sink; each is passed on once verified.
  void start_push() {
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
    s.streams[0].fetch =
        ctx_->net->accept_offer(s.job.session, *s.job.offer_call,
                                std::make_shared<receiver>(caf::actor_cast<caf::actor>(self_), 0));
    s.ds.emplace(*ctx_, s.job.record, s.job.relay, caf::actor_cast<caf::actor>(self_));
    s.ds->start();
  }

  // Pulled: ask every peer what it holds of the version, then plan (on_have / on_timeout).
  void start_pull() {
    auto& s = st();
    if (s.missing.empty())
      return finish("");
    if (s.job.sources.empty())
      return finish("no peer connected");
    // Every answer comes within have_wait (the network times the query out), so no timer of
    // ours holds this actor (and its thread) alive once it is done.
    auto me = self_->address();
    for (std::size_t k = 0; k < s.job.sources.size(); ++k)
      ctx_->net->have(s.job.sources[k].second, s.job.record.path, s.job.record.version,
                      s.job.record.chunks.size(), have_wait, [me, k](rpc::have_answer a) {
                        if (auto a2 = caf::actor_cast<caf::actor>(me))
                          caf::anon_send(a2, have_atom::value, k, std::move(a));
                      });
  }

  void on_have(std::size_t k, rpc::have_answer& a) {
    auto& s = st();
    if (s.planned || k >= s.job.sources.size())
      return;
    s.answers[k] = std::move(a);
    if (s.answers.size() == s.job.sources.size())
      plan();
  }

  void plan() {
    auto& s = st();
    if (s.planned || s.reported)
      return;
    s.planned = true;
    // Tiers: peers in good standing, then peers that sent bad bytes for this file before
    // (only for chunks nobody else has), then the announcer, presumed to hold the version
    // whole (its index lists it; a peer that does not answer have queries; the hashes decide).
    std::vector<std::vector<core::chunk_holder>> tiers(3);
    std::vector<core::chunk_holder> holders; // every claim, for the log
    for (std::size_t k = 0; k < s.job.sources.size(); ++k) {
      auto it = s.answers.find(k);
      bool answered = it != s.answers.end() && it->second.ok;
      bool claims = answered && (it->second.complete || count(it->second.chunks) > 0);
      if (claims) {
        holders.push_back({k, it->second.complete, it->second.chunks});
        tiers[s.job.suspects.count(s.job.sources[k].first) ? 1 : 0].push_back(holders.back());
      }
      if (s.job.sources[k].second == s.job.session && !(claims && it->second.complete))
        tiers[2].push_back({k, true, {}});
    }
    auto p = core::plan_repair_tiers(s.job.record, s.missing, tiers);
    s.unheld = p.unheld.size();
    auto me = caf::actor_cast<caf::actor>(self_);
    bool partial_used = false;
    for (auto& f : p.fetches) {
      auto& [device, session] = s.job.sources[f.source];
      bool partial = std::any_of(holders.begin(), holders.end(),
                                 [&](auto& h) { return h.source == f.source && !h.complete; });
      partial_used = partial_used || partial;
      s.plan_text += (s.plan_text.empty() ? "" : ", ") + std::to_string(f.chunks.size()) +
                     " from " + short_of(device) + (partial ? " (partial)" : "");
      stream_state str;
      str.session = session;
      str.device = device;
      str.from = short_of(device);
      str.chunks = f.chunks;
      s.streams.push_back(std::move(str));
      auto idx = s.streams.size() - 1;
      s.streams[idx].fetch = ctx_->net->fetch(
          session, s.job.record.path, core::to_ranges(s.job.record, f.chunks, max_range_bytes),
          std::make_shared<receiver>(me, idx), s.job.record.version);
    }
    if (s.unheld > 0)
      s.plan_text += (s.plan_text.empty() ? "" : ", ") + std::to_string(s.unheld) +
                     " held by no connected peer";
    auto held = count(s.verified);
    auto line = "repair " + s.job.record.path + ": " + std::to_string(held) + " of " +
                std::to_string(s.verified.size()) + " chunks held, " + s.plan_text;
    bool resumed = count(s.job.verified) > 0;
    if (resumed || partial_used || p.fetches.size() > 1 || s.unheld > 0)
      io::log_info(line); // a repair worth seeing; a plain pull from one holder is not
    else
      io::log_debug(line);
    if (s.streams.empty())
      finish(unheld_error());
  }

  // How the pull ends once every stream is done: "" or why chunks are still missing.
  std::string unheld_error() {
    auto& s = st();
    return s.unheld == 0 ? ""
                         : std::to_string(s.unheld) + " of " + std::to_string(s.verified.size()) +
                               " chunks are held by no connected peer";
  }

  void on_pieces(std::size_t k, std::vector<rpc::piece>& pieces) {
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
          if (!write_all(s.fd.get(), whole.data(), whole.size(), ch.offset))
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
    ctx_->net->consumed(str.fetch, 1);
  }

  // The holder sent what the record says it cannot be: the index asks the others next time.
  void bad_data(const stream_state& str, const std::string& what) {
    st().result.bad_source = str.device;
    finish(what + from(str));
  }

  void on_done(std::size_t k, const std::string& error) {
    auto& s = st();
    if (s.reported || k >= s.streams.size())
      return;
    auto& str = s.streams[k];
    str.done = true;
    if (!error.empty())
      return finish(error + from(str));
    if (std::all_of(s.streams.begin(), s.streams.end(), [](auto& x) { return x.done; }))
      finish(unheld_error());
  }

  core::actor_status status() {
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

  void on_downstream_gone() {
    if (st().reported && !st().ds->active())
      self_->quit();
  }

private:
  self_ptr self_;
  const node_context* ctx_;
  caf::actor index_;
};

caf::behavior transfer(self_ptr self, const node_context* ctx, transfer_job job, caf::actor index) {
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
      [=](pieces_atom, std::size_t k, std::vector<rpc::piece>& pieces) {
        logic->on_pieces(k, pieces);
      },
      [=](done_atom, std::size_t k, const std::string& error) { logic->on_done(k, error); },
      [=](have_atom, std::size_t k, rpc::have_answer& a) { logic->on_have(k, a); },
      [=](ds_answer_atom, bool accepted) {
        self->state.ds->on_answer(accepted);
        logic->on_downstream_gone();
      },
      [=](ds_sent_atom, std::size_t frames) { self->state.ds->on_sent(frames); },
      [=](ds_failed_atom, const std::string& error) {
        self->state.ds->on_failed(error);
        logic->on_downstream_gone();
      },
      [=](status_atom) { return logic->status(); },
  };
}

} // namespace

caf::actor spawn_transfer(caf::actor_system& sys, const node_context& ctx, transfer_job job,
                          caf::actor index) {
  return sys.spawn<caf::detached>(transfer, &ctx, std::move(job), std::move(index));
}

} // namespace cascade::actors
