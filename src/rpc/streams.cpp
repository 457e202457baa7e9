// The chunk streams of rpc::network: fetches (we pull ranges into a sink of ours) and pushes
// (the cascade: offers, and frames streamed into a peer's sink). Runs on the KJ thread; the
// public methods only queue work for it.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "io/folder.hpp"
#include "rpc/convert.hpp"
#include "rpc/network_impl.hpp"

namespace cascade::rpc {

fetch_id network::fetch(session_id s, std::string path, std::vector<core::byte_range> ranges,
                        std::shared_ptr<chunk_receiver> receiver, core::version_vector version) {
  fetch_id id = impl_->next_fetch++;
  impl_->post([i = impl_.get(), s, id, path = std::move(path), ranges = std::move(ranges), receiver,
               version = std::move(version)]() {
    auto f = kj::heap<pending_fetch>();
    f->session = s;
    f->receiver = receiver;
    auto* peer = i->peer_of(s);
    if (peer == nullptr) {
      f->finish("peer not connected");
      return;
    }
    auto req = peer->fetchRequest();
    req.setPath(path);
    auto rl = req.initRanges(static_cast<unsigned>(ranges.size()));
    for (unsigned k = 0; k < ranges.size(); ++k) {
      rl[k].setOffset(ranges[k].offset);
      rl[k].setLength(ranges[k].length);
    }
    req.setSink(i->make_sink(id));
    if (!version.empty())
      to_wire(version, req.initVersion(static_cast<unsigned>(version.entries().size())));
    auto& ref = *f;
    i->fetches.emplace(id, kj::mv(f));
    auto ended = [i, id](const std::string& error) {
      auto it = i->fetches.find(id);
      if (it == i->fetches.end())
        return;
      it->second->call_ended = true;
      if (!error.empty())
        it->second->finish(error);
      i->forget_fetch_if_over(id);
    };
    ref.call = req.send()
                   .then([ended](auto&&) { ended(""); },
                         [ended](kj::Exception&& e) {
                           ended(std::string("fetch failed: ") + e.getDescription().cStr());
                         })
                   .eagerlyEvaluate(nullptr);
  });
  return id;
}

void network::have(session_id s, std::string path, core::version_vector v, std::size_t chunks,
                   std::chrono::milliseconds timeout, std::function<void(have_answer)> done) {
  impl_->post([i = impl_.get(), s, path = std::move(path), v = std::move(v), chunks, timeout,
               done]() {
    auto* peer = i->peer_of(s);
    if (peer == nullptr) {
      done({false, false, {}, "peer not connected"});
      return;
    }
    auto req = peer->haveRequest();
    req.setPath(path);
    to_wire(v, req.initVersion(static_cast<unsigned>(v.entries().size())));
    i->tasks->add(
        req.send()
            .then(
                [done, chunks](capnp::Response<wire::Peer::HaveResults> r) {
                  have_answer a;
                  a.ok = true;
                  a.complete = r.getComplete();
                  if (!a.complete && r.hasChunks() && r.getChunks().size() > 0) {
                    auto bits = unpack_bits(r.getChunks(), chunks);
                    if (!bits) {
                      done({false, false, {}, "malformed chunk bitmap"});
                      return;
                    }
                    a.chunks = std::move(*bits);
                  }
                  done(std::move(a));
                },
                [done](kj::Exception&& e) {
                  done(
                      {false, false, {}, std::string("have failed: ") + e.getDescription().cStr()});
                })
            .exclusiveJoin(KJ_ASSERT_NONNULL(i->io)
                               .provider->getTimer()
                               .afterDelay(timeout.count() * kj::MILLISECONDS)
                               .then([done]() {
                                 done({false, false, {}, "have timed out"});
                               })));
  });
}

void network::answer_have(session_id s, call_id call, bool complete, std::vector<bool> chunks) {
  impl_->post([i = impl_.get(), s, call, complete, chunks = std::move(chunks)]() mutable {
    i->have_calls.answer(s, call, impl::have_reply{complete, std::move(chunks)});
  });
}

void network::consumed(fetch_id f, std::size_t frames) {
  impl_->post([i = impl_.get(), f, frames]() {
    auto it = i->fetches.find(f);
    if (it == i->fetches.end())
      return;
    auto& p = *it->second;
    p.outstanding -= std::min(frames, p.outstanding);
    if (p.outstanding <= i->cfg.sink_credit) {
      KJ_IF_MAYBE (b, p.blocked) {
        (*b)->fulfill();
        p.blocked = nullptr;
      }
    }
  });
}

void network::cancel_fetch(fetch_id f) {
  impl_->post([i = impl_.get(), f]() {
    auto it = i->fetches.find(f);
    if (it == i->fetches.end())
      return;
    it->second->finished = true; // no callback after a cancel
    KJ_IF_MAYBE (b, it->second->blocked) {
      (*b)->reject(KJ_EXCEPTION(DISCONNECTED, "fetch cancelled"));
    }
    i->forget_fetch(f);
  });
}

void network::impl::forget_fetch(fetch_id f) {
  auto it = fetches.find(f);
  if (it == fetches.end())
    return;
  auto own = kj::mv(it->second);
  fetches.erase(it);
  tasks->add(kj::evalLater([o = kj::mv(own)]() mutable { o = nullptr; }));
}

void network::impl::forget_fetch_if_over(fetch_id f) {
  auto it = fetches.find(f);
  if (it == fetches.end() || !it->second->finished)
    return;
  bool has_call = false;
  KJ_IF_MAYBE (c, it->second->call) {
    (void)c;
    has_call = true;
  }
  if (!has_call || it->second->call_ended)
    forget_fetch(f);
}

fetch_id network::accept_offer(session_id s, call_id call,
                               std::shared_ptr<chunk_receiver> receiver) {
  fetch_id id = impl_->next_fetch++;
  impl_->post([i = impl_.get(), s, call, id, receiver]() {
    auto f = kj::heap<pending_fetch>();
    f->session = s;
    f->receiver = receiver;
    if (!i->offer_calls.contains(s, call) || !i->conns.count(s)) {
      f->finish("the offer was withdrawn (connection lost)");
      return;
    }
    i->fetches.emplace(id, kj::mv(f));
    i->offer_calls.answer(s, call, fetch_id(id));
  });
  return id;
}

void network::decline_offer(session_id s, call_id call) {
  impl_->post([i = impl_.get(), s, call]() { i->offer_calls.answer(s, call, fetch_id(0)); });
}

network::push_id network::offer(session_id s, wire_entry entry, std::vector<core::device_id> rest,
                                std::vector<core::device_id> visited,
                                std::shared_ptr<push_observer> observer) {
  push_id id = impl_->next_push++;
  auto e = std::make_shared<wire_entry>(std::move(entry));
  impl_->post([i = impl_.get(), s, id, e, rest = std::move(rest), visited = std::move(visited),
               observer]() {
    auto p = kj::heap<pending_push>();
    p->session = s;
    p->observer = observer;
    auto* peer = i->peer_of(s);
    if (peer == nullptr) {
      p->fail("peer not connected");
      return;
    }
    auto req = peer->offerRequest();
    to_wire(*e, req.initRecord());
    auto fill = [](capnp::List<capnp::Data>::Builder out, const std::vector<core::device_id>& v) {
      for (unsigned k = 0; k < v.size(); ++k)
        out.set(k, kj::arrayPtr(v[k].data(), v[k].size()));
    };
    fill(req.initRest(static_cast<unsigned>(rest.size())), rest);
    fill(req.initVisited(static_cast<unsigned>(visited.size())), visited);
    i->pushes.emplace(id, kj::mv(p));
    i->tasks->add(req.send().then(
        [i, id](capnp::Response<wire::Peer::OfferResults> r) {
          auto it = i->pushes.find(id);
          if (it == i->pushes.end())
            return;
          auto& push = *it->second;
          if (!r.hasSink()) {
            push.observer->on_answer(false);
            i->pushes.erase(it);
            return;
          }
          push.sink = r.getSink();
          push.tail = kj::Promise<void>(kj::READY_NOW).fork();
          push.observer->on_answer(true);
        },
        [i, id](kj::Exception&& e) {
          auto it = i->pushes.find(id);
          if (it != i->pushes.end()) {
            it->second->fail(std::string("offer failed: ") + e.getDescription().cStr());
            i->pushes.erase(it);
          }
        }));
  });
  return id;
}

void network::push(push_id p, std::vector<piece> pieces) {
  impl_->post([i = impl_.get(), p, pieces = std::move(pieces)]() mutable {
    auto it = i->pushes.find(p);
    if (it == i->pushes.end() || it->second->failed)
      return;
    auto& push = *it->second;
    wire::ChunkSink::Client* sink = nullptr;
    KJ_IF_MAYBE (c, push.sink) {
      sink = c;
    }
    kj::ForkedPromise<void>* tail = nullptr;
    KJ_IF_MAYBE (t, push.tail) {
      tail = t;
    }
    if (sink == nullptr || tail == nullptr)
      return;
    // The message references the pooled buffers (no copy). A streaming send() resolves when the
    // window has room, not when the message is written: rpc_link holds the blocks from send()
    // until written, and `held` keeps them until then (and for a local or queued call).
    auto req = sink->writeRequest();
    auto list = req.initPieces(static_cast<unsigned>(pieces.size()));
    auto orphanage =
        capnp::Orphanage::getForMessageContaining(wire::ChunkSink::WriteParams::Builder(req));
    std::vector<buffer> held;
    held.reserve(pieces.size());
    for (unsigned k = 0; k < pieces.size(); ++k) {
      list[k].setOffset(pieces[k].offset);
      list[k].adoptData(reference_bytes(orphanage, pieces[k].data));
      held.push_back(std::move(pieces[k].data));
    }
    pieces.clear();
    auto next =
        tail->addBranch()
            .then([i, p, req = kj::mv(req), held = std::move(held)]() mutable -> kj::Promise<void> {
              auto it = i->pushes.find(p);
              if (it == i->pushes.end() || it->second->dropping)
                return kj::READY_NOW;
              return req.send().attach(std::move(held));
            })
            .then(
                [i, p]() {
                  if (auto it = i->pushes.find(p); it != i->pushes.end())
                    it->second->observer->on_sent(1);
                },
                [i, p](kj::Exception&& e) {
                  if (auto it = i->pushes.find(p); it != i->pushes.end())
                    it->second->fail(std::string("push failed: ") + e.getDescription().cStr());
                });
    push.tail = next.fork();
  });
}

void network::finish_push(push_id p, std::string error, bool drop_queued) {
  impl_->post([i = impl_.get(), p, error, drop_queued]() {
    auto it = i->pushes.find(p);
    if (it == i->pushes.end())
      return;
    auto& push = *it->second;
    push.dropping = push.dropping || drop_queued;
    wire::ChunkSink::Client* sink = nullptr;
    KJ_IF_MAYBE (c, push.sink) {
      sink = c;
    }
    kj::ForkedPromise<void>* tail = nullptr;
    KJ_IF_MAYBE (t, push.tail) {
      tail = t;
    }
    if (sink == nullptr || tail == nullptr || push.failed) {
      i->pushes.erase(it);
      return;
    }
    auto req = sink->doneRequest();
    req.setError(error);
    i->tasks->add(tail->addBranch()
                      .then([req = kj::mv(req)]() mutable { return req.send().ignoreResult(); })
                      .then([i, p]() { i->end_push(p); },
                            [i, p](kj::Exception&& e) {
                              if (auto it = i->pushes.find(p); it != i->pushes.end())
                                it->second->fail(e.getDescription().cStr());
                              i->end_push(p);
                            }));
  });
}

// Serves one fetch: reads the asked ranges (from the partial temp file while we are still
// receiving the file ourselves) and streams them to the sink, one frame at a time.
kj::Promise<void> network::impl::serve_fetch(wire::ChunkSink::Client sink, std::string path,
                                             std::string partial,
                                             std::vector<core::byte_range> ranges, std::size_t idx,
                                             std::uint64_t pos) {
  if (idx >= ranges.size()) {
    auto req = sink.doneRequest();
    req.setError("");
    return req.send().ignoreResult();
  }
  // TODO(perf): read on a worker thread instead of the KJ thread.
  // A partial file is renamed into place once complete: then the folder's file has the bytes.
  io::unique_fd fd;
  if (!partial.empty())
    fd = io::unique_fd(::open(partial.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd)
    fd = cfg.folder->open_read(path);
  auto req = sink.writeRequest();
  std::vector<std::pair<std::uint64_t, std::uint64_t>> parts; // (offset, length)
  std::size_t bytes = 0;
  while (idx < ranges.size() && bytes < max_frame_bytes) {
    auto& r = ranges[idx];
    auto take = std::min<std::uint64_t>(r.length - pos, max_frame_bytes - bytes);
    parts.emplace_back(r.offset + pos, take);
    bytes += take;
    pos += take;
    if (pos == r.length) {
      ++idx;
      pos = 0;
    }
  }
  // Read into one pooled block (each part word-aligned in it) that the message references.
  auto list = req.initPieces(static_cast<unsigned>(parts.size()));
  auto orphanage =
      capnp::Orphanage::getForMessageContaining(wire::ChunkSink::WriteParams::Builder(req));
  auto block = io::frame_pool().acquire(bytes + 8 * parts.size());
  std::vector<buffer> held;
  std::size_t at = 0;
  for (unsigned i = 0; i < parts.size(); ++i) {
    auto want = static_cast<std::size_t>(parts[i].second);
    std::size_t got = 0;
    while (fd && got < want) {
      auto n = ::pread(fd.get(), block.data() + at + got, want - got,
                       static_cast<off_t>(parts[i].first + got));
      if (n <= 0)
        break;
      got += static_cast<std::size_t>(n);
    }
    if (got < want) {
      auto done = sink.doneRequest();
      done.setError("cannot read " + path + " (changed or removed on the sender)");
      return done.send().ignoreResult();
    }
    block.zero_pad(at + want);
    held.push_back(block.share(at, want));
    list[i].setOffset(parts[i].first);
    list[i].adoptData(reference_bytes(orphanage, held.back()));
    at = (at + want + 7) / 8 * 8;
  }
  return req.send()
      .attach(std::move(held))
      .then([this, sink, path = kj::mv(path), partial = kj::mv(partial), ranges = kj::mv(ranges),
             idx, pos]() mutable {
        return serve_fetch(kj::mv(sink), kj::mv(path), kj::mv(partial), kj::mv(ranges), idx, pos);
      });
}

} // namespace cascade::rpc
