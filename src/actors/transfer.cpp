// One actor per in-flight file, on a thread of its own (it writes to disk). It copies the
// chunks we already hold, fetches the rest, checks every chunk's hash before it counts, and
// fsyncs the temp file; the index then renames it into place.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "actors/actors.hpp"
#include "actors/relay.hpp"
#include "core/rate.hpp"
#include "io/log.hpp"

namespace cascade::actors {

namespace {

struct transfer_state {
  static inline const char* name = "transfer";
  transfer_job job;
  io::unique_fd fd;
  rpc::fetch_id fetch = 0;
  bool fetching = false;
  std::vector<bool> verified;        // per chunk
  std::size_t next_missing = 0;      // index into job.missing: the chunk being assembled
  std::vector<std::uint8_t> current; // its bytes so far
  transfer_result result;
  bool reported = false;
  std::optional<downstream> ds; // where verified chunks go next (push cascade)
  core::rate_meter meter; // received bytes, for the console
  std::int64_t started_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
};

// Forwards the KJ thread's callbacks to the actor as messages.
class receiver final : public rpc::chunk_receiver {
public:
  explicit receiver(caf::actor a) : actor_(std::move(a)) {}
  void on_pieces(std::vector<rpc::piece> pieces) override {
    caf::anon_send(actor_, pieces_atom::value, std::move(pieces));
  }
  void on_done(const std::string& error) override {
    caf::anon_send(actor_, done_atom::value, error);
  }

private:
  caf::actor actor_;
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

caf::behavior transfer(caf::stateful_actor<transfer_state>* self, const node_context* ctx,
                       transfer_job job, caf::actor index) {
  auto& st = self->state;
  st.job = std::move(job);
  st.result.record = st.job.record;
  st.result.tmp_path = st.job.tmp_path;
  st.verified.assign(st.job.record.chunks.size(), false);

  auto finish = [=](std::string error) {
    auto& st = self->state;
    if (st.reported)
      return;
    st.reported = true;
    if (st.fetching)
      ctx->net->cancel_fetch(st.fetch);
    auto& r = st.job.record;
    if (error.empty()) {
      for (bool v : st.verified)
        if (!v)
          error = "not every chunk arrived";
    }
    if (error.empty()) {
      if (::fchmod(st.fd.get(), r.mode & 07777) != 0 || ::fsync(st.fd.get()) != 0)
        error = std::string("cannot finish temp file: ") + std::strerror(errno);
      timespec ts[2] = {{0, UTIME_OMIT},
                        {static_cast<time_t>(r.mtime_ns / 1'000'000'000), r.mtime_ns % 1'000'000'000}};
      if (error.empty() && ::futimens(st.fd.get(), ts) != 0)
        error = std::string("cannot set mtime: ") + std::strerror(errno);
    }
    st.fd = io::unique_fd();
    if (!error.empty())
      ::unlink(st.job.tmp_path.c_str());
    st.result.error = error;
    self->send(index, finished_atom::value, std::move(st.result));
    if (st.ds)
      st.ds->finish(error);
    if (!st.ds || !st.ds->active())
      self->quit(); // else once the downstream has everything
  };

  // Copy what we hold locally; every copied chunk is verified like a received one.
  st.fd = io::unique_fd(::open(st.job.tmp_path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!st.fd) {
    finish("cannot create " + st.job.tmp_path + ": " + std::strerror(errno));
    return {[](status_atom) { return core::status_of("transfer", "failed", 0); }};
  }
  std::vector<std::uint8_t> buf;
  std::vector<std::size_t> missing = st.job.missing;
  for (auto& c : st.job.copies) {
    auto& ch = st.job.record.chunks[c.chunk_index];
    buf.resize(ch.length);
    if (ctx->folder->read_at(c.from.path, c.from.offset, buf) && io::sha256(buf) == ch.hash &&
        write_all(st.fd.get(), buf.data(), buf.size(), ch.offset)) {
      st.verified[c.chunk_index] = true;
      st.result.bytes_copied += ch.length;
    } else {
      missing.push_back(c.chunk_index); // the local copy changed meanwhile: fetch it instead
    }
  }
  std::sort(missing.begin(), missing.end());
  st.job.missing = missing;
  if (::ftruncate(st.fd.get(), static_cast<off_t>(st.job.record.size)) != 0) {
    finish(std::string("cannot size temp file: ") + std::strerror(errno));
    return {[](status_atom) { return core::status_of("transfer", "failed", 0); }};
  }
  if (st.job.offer_call) {
    // Pushed to us: every chunk arrives through the offer's sink; pass each on once verified.
    st.fetching = true;
    st.fetch = ctx->net->accept_offer(st.job.session, *st.job.offer_call,
                                      std::make_shared<receiver>(caf::actor_cast<caf::actor>(self)));
    st.ds.emplace(*ctx, st.job.record, st.job.relay, caf::actor_cast<caf::actor>(self));
    st.ds->start();
  } else if (missing.empty()) {
    finish("");
  } else {
    auto ranges = core::to_ranges(st.job.record, missing, 64 * 1024 * 1024);
    st.fetching = true;
    st.fetch = ctx->net->fetch(st.job.session, st.job.record.path, std::move(ranges),
                               std::make_shared<receiver>(caf::actor_cast<caf::actor>(self)));
  }

  return {
      [=](pieces_atom, std::vector<rpc::piece>& pieces) {
        auto& st = self->state;
        if (st.reported)
          return;
        auto& chunks = st.job.record.chunks;
        std::vector<rpc::piece> verified; // forwarded as one frame, sharing the buffers
        for (auto& p : pieces) {
          std::uint64_t off = p.offset;
          std::size_t pos = 0;
          auto& bytes = *p.data;
          while (pos < bytes.size()) {
            if (st.next_missing >= st.job.missing.size())
              return finish("peer sent more than was asked");
            auto& ch = chunks[st.job.missing[st.next_missing]];
            auto have = ch.offset + st.current.size();
            if (off != have)
              return finish("peer sent bytes out of order");
            auto take = std::min<std::size_t>(bytes.size() - pos, ch.length - st.current.size());
            st.current.insert(st.current.end(), bytes.begin() + pos, bytes.begin() + pos + take);
            pos += take;
            off += take;
            if (st.current.size() == ch.length) {
              if (io::sha256(st.current) != ch.hash)
                return finish("chunk at offset " + std::to_string(ch.offset) +
                              " does not match its hash");
              auto buf = std::make_shared<const std::vector<std::uint8_t>>(std::move(st.current));
              st.current = {};
              if (!write_all(st.fd.get(), buf->data(), buf->size(), ch.offset))
                return finish(std::string("cannot write temp file: ") + std::strerror(errno));
              st.verified[st.job.missing[st.next_missing]] = true;
              st.result.bytes_fetched += ch.length;
              ++st.next_missing;
              if (st.ds)
                verified.push_back({ch.offset, std::move(buf)});
            }
          }
        }
        if (st.ds)
          st.ds->forward(std::move(verified));
        st.meter.sample(std::chrono::steady_clock::now().time_since_epoch().count(),
                        st.result.bytes_fetched);
        ctx->net->consumed(st.fetch, 1);
      },
      [=](done_atom, const std::string& error) { finish(error); },
      [=](ds_answer_atom, bool accepted) {
        auto& st = self->state;
        st.ds->on_answer(accepted);
        if (st.reported && !st.ds->active())
          self->quit();
      },
      [=](ds_sent_atom, std::size_t frames) { self->state.ds->on_sent(frames); },
      [=](ds_failed_atom, const std::string& error) {
        auto& st = self->state;
        st.ds->on_failed(error);
        if (st.reported && !st.ds->active())
          self->quit();
      },
      [=](status_atom) {
        auto& st = self->state;
        auto s = core::status_of("transfer", st.job.record.path, self->mailbox().size());
        core::transfer_status t;
        t.path = st.job.record.path;
        t.size = st.job.record.size;
        t.fetched = st.result.bytes_fetched;
        t.copied = st.result.bytes_copied;
        t.rate = st.meter.rate();
        t.upstream_session = st.job.session;
        t.started_ns = st.started_ns;
        s.state = std::to_string(t.fetched) + " fetched + " + std::to_string(t.copied) +
                  " copied of " + std::to_string(t.size) + " bytes, chunk " +
                  std::to_string(st.next_missing) + " of " +
                  std::to_string(st.job.missing.size()) + " to fetch" +
                  (st.ds ? ", " + st.ds->describe() : "");
        if (st.ds && st.ds->peer())
          t.downstreams.push_back(core::format_device_id(*st.ds->peer()));
        s.counters = {{"size", t.size}, {"fetched", t.fetched}, {"copied", t.copied}};
        s.transfer = std::move(t);
        return s;
      },
  };
}

} // namespace

caf::actor spawn_transfer(caf::actor_system& sys, const node_context& ctx, transfer_job job,
                          caf::actor index) {
  return sys.spawn<caf::detached>(transfer, &ctx, std::move(job), std::move(index));
}

} // namespace cascade::actors
