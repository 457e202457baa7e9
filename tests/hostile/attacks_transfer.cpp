// Attacks through file transfer, as a hostile upstream: a file served in huge frames, fetched
// chunks with wrong, reordered or extra bytes, and push-cascade offers with bad records or
// wrong pushed bytes.
#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>

#include "hostile_peer.hpp"

namespace hostile {

namespace {

// Streams generated content, one piece of up to piece_bytes per write.
struct big_gen {
  explicit big_gen(wire::ChunkSink::Client s) : sink(kj::mv(s)) {}
  wire::ChunkSink::Client sink;
  std::vector<range> rs;
  std::size_t idx = 0;
  std::uint64_t pos = 0;
  std::shared_ptr<std::string> done;
  std::uint64_t* sent = nullptr;
  std::uint64_t piece_bytes = 0;
  std::uint64_t seed = 0;
};

kj::Promise<void> big_step(std::shared_ptr<big_gen> g) {
  if (g->idx >= g->rs.size()) {
    auto d = g->sink.doneRequest();
    d.setError("");
    return d.send().ignoreResult().then(
        [g]() { *g->done = "served"; },
        [g](kj::Exception&& e) { *g->done = e.getDescription().cStr(); });
  }
  auto& rg = g->rs[g->idx];
  auto n = std::min<std::uint64_t>(rg.length - g->pos, g->piece_bytes);
  auto off = rg.offset + g->pos;
  auto req = g->sink.writeRequest();
  auto pl = req.initPieces(1);
  pl[0].setOffset(off);
  auto d = pl[0].initData(static_cast<unsigned>(n));
  // Chunks are 1 MiB and ranges start on chunk boundaries.
  for (std::uint64_t o = 0; o < n; o += 1u << 20)
    fill_block(g->seed + (off + o) / (1u << 20), d.begin() + o,
               static_cast<std::size_t>(std::min<std::uint64_t>(1u << 20, n - o)));
  g->pos += n;
  *g->sent += n;
  if (g->pos == rg.length) {
    ++g->idx;
    g->pos = 0;
  }
  return req.send().then([g]() { return big_step(g); },
                         [g](kj::Exception&& e) { *g->done = e.getDescription().cStr(); });
}

} // namespace

// Announces a large file with 1 MiB chunks, then serves it (correct bytes) in pieces of
// `--count` MiB each (default 48): frames far above the node's own 1 MiB.
int attack_big_pieces(ctx& c) {
  auto s = connect_with_key(c, c.o.key);
  s->wait_subscribed(5);
  writer w{core::short_of(c.tls.self())};
  const std::uint64_t piece_mib = c.o.count > 1 ? static_cast<std::uint64_t>(c.o.count) : 48;
  const std::uint64_t size = 8 * piece_mib << 20;
  const std::uint64_t seed = 1000;
  rec r;
  r.path = c.o.path.empty() ? "bomb.bin" : c.o.path;
  r.size = size;
  r.chunks = chunks_of(size, 1u << 20, seed);
  auto done = std::make_shared<std::string>();
  std::uint64_t bytes_sent = 0;
  s->log.on_fetch = [&, done](fetch_context fc) -> kj::Promise<void> {
    auto p = fc.getParams();
    auto rs = ranges_of(p);
    say("fetch of " + std::string(p.getPath().cStr()) + ": " + std::to_string(rs.size()) +
        " ranges");
    auto g = std::make_shared<big_gen>(p.getSink());
    g->rs = rs;
    g->done = done;
    g->sent = &bytes_sent;
    g->piece_bytes = piece_mib << 20;
    g->seed = seed;
    return big_step(g);
  };
  auto e = send_update_retry(*s, w, {r});
  say("announced " + r.path + " (" + std::to_string(size >> 20) +
      " MiB): " + (e.empty() ? "acknowledged" : e));
  double end = now_s() + 60;
  while (done->empty() && now_s() < end && !s->wait_disconnected(0.1)) {
  }
  result("big pieces of " + std::to_string(piece_mib) +
         " MiB: " + (done->empty() ? std::string("unfinished") : *done) + ", " +
         std::to_string(bytes_sent >> 20) + " MiB sent");
  s->sleep(1.0);
  return 0;
}

// Announces a file of content X and serves wrong bytes; after --count failures it serves X.
int attack_bad_chunks(ctx& c) {
  auto s = connect_with_key(c, c.o.key);
  s->wait_subscribed(5);
  writer w{core::short_of(c.tls.self())};
  const std::uint64_t size = 200 * 1024 + 123;
  const std::uint32_t chunk = 64 * 1024;
  const std::uint64_t seed = 4242;
  std::string good(size, '\0');
  for (std::uint64_t off = 0, i = 0; off < size; off += chunk, ++i)
    fill_block(seed + i, reinterpret_cast<std::uint8_t*>(good.data()) + off,
               static_cast<std::size_t>(std::min<std::uint64_t>(chunk, size - off)));
  rec r;
  r.path = c.o.path.empty() ? "chunky.bin" : c.o.path;
  r.size = size;
  r.chunks = chunks_of(size, chunk, seed);
  const int bad_rounds = c.o.count > 1 ? c.o.count : 4;
  {
    auto h = sha(good);
    std::string hex;
    for (auto b : h) {
      char x[3];
      std::snprintf(x, sizeof x, "%02x", b);
      hex += x;
    }
    say("content sha256 " + hex);
  }
  int round = 0;
  std::vector<std::shared_ptr<std::string>> outcomes;
  s->log.on_fetch = [&](fetch_context fc) -> kj::Promise<void> {
    auto p = fc.getParams();
    auto rs = ranges_of(p);
    int k = round++;
    auto pieces = std::make_shared<std::vector<std::pair<std::uint64_t, std::string>>>();
    std::string how;
    for (auto& rg : rs) {
      std::string bytes = good.substr(rg.offset, rg.length);
      pieces->push_back({rg.offset, bytes});
    }
    switch (k < bad_rounds ? k % 4 : -1) {
    case 0: // flipped bits in the last chunk: the hash must catch it
      how = "corrupted bytes";
      for (auto& [off, b] : *pieces)
        if (!b.empty())
          b[b.size() - 1] ^= 0x5a;
      break;
    case 1: // another file's bytes, same length
      how = "foreign bytes";
      for (auto& [off, b] : *pieces)
        for (auto& ch : b)
          ch = static_cast<char>(~ch);
      break;
    case 2: // out of order: second half first
      how = "out of order";
      if (!pieces->empty()) {
        auto& [off, b] = (*pieces)[0];
        auto half = b.size() / 2;
        std::pair<std::uint64_t, std::string> a{off, b.substr(0, half)},
            z{off + half, b.substr(half)};
        (*pieces)[0] = z;
        pieces->insert(pieces->begin() + 1, a);
      }
      break;
    case 3: // correct bytes and then more than was asked
      how = "extra bytes";
      if (!pieces->empty())
        pieces->push_back({rs.back().offset + rs.back().length, std::string(4096, 'E')});
      break;
    default:
      how = "correct bytes";
    }
    say("fetch " + std::to_string(k + 1) + " of " + std::string(p.getPath().cStr()) + ": serving " +
        how);
    auto out = std::make_shared<std::string>();
    outcomes.push_back(out);
    // Split each range into 16 KiB pieces, as a real sender might.
    auto split = std::make_shared<std::vector<std::pair<std::uint64_t, std::string>>>();
    for (auto& [off, b] : *pieces)
      for (std::size_t i = 0; i < b.size(); i += 16384)
        split->push_back({off + i, b.substr(i, 16384)});
    return stream_pieces(p.getSink(), split, 0, out).then([out, k]() {
      say("fetch " + std::to_string(k + 1) + ": " + *out);
    });
  };
  auto e = send_update_retry(*s, w, {r});
  say("announced " + r.path + " (" + std::to_string(size) +
      " bytes): " + (e.empty() ? "acknowledged" : e));
  double end = now_s() + 30;
  while (now_s() < end &&
         (round <= bad_rounds || outcomes.size() <= static_cast<std::size_t>(bad_rounds) ||
          outcomes.back()->empty()))
    if (s->wait_disconnected(0.05))
      break;
  s->sleep(1.0);
  result("fetches served: " + std::to_string(round) + " (" + std::to_string(bad_rounds) +
         " bad), last: " + (outcomes.empty() ? std::string("none") : *outcomes.back()));
  return 0;
}

// Push cascade from a hostile upstream: offers with a bad name or an oversized relay list must
// be declined; an accepted offer streamed with wrong bytes must not be assembled (the node
// falls back to fetching, which we then serve correctly).
int attack_bad_offer(ctx& c) {
  auto s = connect_with_key(c, c.o.key);
  s->wait_subscribed(5);
  writer w{core::short_of(c.tls.self())};
  const std::uint64_t size = 200 * 1024 + 77;
  const std::uint32_t chunk = 64 * 1024;
  const std::uint64_t seed = 777;
  std::string good(size, '\0');
  for (std::uint64_t off = 0, i = 0; off < size; off += chunk, ++i)
    fill_block(seed + i, reinterpret_cast<std::uint8_t*>(good.data()) + off,
               static_cast<std::size_t>(std::min<std::uint64_t>(chunk, size - off)));
  {
    auto h = sha(good);
    std::string hex;
    for (auto b : h) {
      char x[3];
      std::snprintf(x, sizeof x, "%02x", b);
      hex += x;
    }
    say("content sha256 " + hex);
  }
  auto offer = [&](const rec& r, unsigned rest_n) -> std::optional<wire::ChunkSink::Client> {
    auto req = s->peer().offerRequest();
    w.fill(r, req.initRecord());
    auto rl = req.initRest(rest_n);
    for (unsigned i = 0; i < rest_n; ++i) {
      std::array<kj::byte, 32> id{};
      std::memcpy(id.data(), &i, sizeof i);
      id[31] = 0x77;
      rl.set(i, kj::arrayPtr(id.data(), id.size()));
    }
    req.initVisited(0);
    auto resp = s->wait(req.send(), 10, "offer");
    if (!resp.hasSink())
      return std::nullopt;
    return resp.getSink();
  };
  rec bad = file_inline("../offer-escape", "x");
  bad.has_data = false;
  bad.data.clear();
  result(std::string("offer of '../offer-escape': ") + (offer(bad, 0) ? "ACCEPTED" : "declined"));
  rec r;
  r.path = c.o.path.empty() ? "offered.bin" : c.o.path;
  r.size = size;
  r.chunks = chunks_of(size, chunk, seed);
  result(std::string("offer with 1025 relay ids: ") + (offer(r, 1025) ? "ACCEPTED" : "declined"));
  int fetches = 0;
  auto fetched = std::make_shared<std::string>();
  s->log.on_fetch = [&, fetched](fetch_context fc) -> kj::Promise<void> {
    auto p = fc.getParams();
    ++fetches;
    auto pieces = std::make_shared<std::vector<std::pair<std::uint64_t, std::string>>>();
    for (auto& rg : ranges_of(p))
      for (std::uint64_t o = 0; o < rg.length; o += 16384)
        pieces->push_back({rg.offset + o, good.substr(rg.offset + o, std::min<std::uint64_t>(
                                                                         16384, rg.length - o))});
    say("fetch of " + std::string(p.getPath().cStr()) + ": serving correct bytes");
    return stream_pieces(p.getSink(), pieces, 0, fetched);
  };
  auto sink = offer(r, 0);
  if (!sink) {
    result("valid offer: declined (could not push wrong bytes)");
    return 0;
  }
  auto pieces = std::make_shared<std::vector<std::pair<std::uint64_t, std::string>>>();
  for (std::uint64_t o = 0; o < size; o += 16384) {
    auto b = good.substr(o, 16384);
    for (auto& ch : b)
      ch = static_cast<char>(ch ^ 0x33);
    pieces->push_back({o, b});
  }
  auto pushed = std::make_shared<std::string>();
  s->wait(stream_pieces(*sink, pieces, 0, pushed), 15, "push");
  say("pushed wrong bytes: " + *pushed);
  double end = now_s() + 10;
  while (fetched->empty() && now_s() < end && !s->wait_disconnected(0.05)) {
  }
  s->sleep(0.5);
  result("valid offer: accepted; wrong bytes pushed (" + *pushed + "); fetches afterwards " +
         std::to_string(fetches) + (fetched->empty() ? "" : " (" + *fetched + ")"));
  return 0;
}

} // namespace hostile

namespace hostile {

// Pull repair with a liar among the holders: we answer every have query "complete" and serve
// every fetch with bytes of the right length but the wrong content, for --count seconds. The
// node must not assemble them, and must not let us block its repairs: once a holder served
// bad data it asks the others.
int attack_have_liar(ctx& c) {
  auto s = connect_with_key(c, c.o.key);
  s->wait_subscribed(5);
  // First our own have queries with what the node must refuse: a name out of the folder, an
  // empty version, a zero counter; then a sound one (of a version it does not hold).
  auto ask = [&](const std::string& path, std::vector<std::pair<std::uint64_t, std::uint64_t>> v) {
    auto req = s->peer().haveRequest();
    req.setPath(path);
    auto list = req.initVersion(static_cast<unsigned>(v.size()));
    for (unsigned i = 0; i < v.size(); ++i) {
      list[i].setDevice(v[i].first);
      list[i].setValue(v[i].second);
    }
    try {
      auto r = s->wait(req.send(), 5, "have");
      return std::string(r.getComplete() ? "complete" : "answered, ") +
             (r.getComplete() ? "" : std::to_string(r.getChunks().size()) + " bitmap bytes");
    } catch (const kj::Exception& e) {
      return std::string("refused (") + e.getDescription().cStr() + ")";
    }
  };
  result("have '../escape': " + ask("../escape", {{1, 1}}));
  result("have with an empty version: " + ask("liar.bin", {}));
  result("have with a zero counter: " + ask("liar.bin", {{1, 0}}));
  result("have of an unknown version: " + ask("liar.bin", {{12345, 7}}));
  say("subscribed; lying for " + std::to_string(c.o.count) + " s");
  std::vector<std::shared_ptr<std::string>> outcomes;
  s->log.on_have = [](have_context hc) -> kj::Promise<void> {
    hc.getResults().setComplete(true);
    return kj::READY_NOW;
  };
  s->log.on_fetch = [&](fetch_context fc) -> kj::Promise<void> {
    auto p = fc.getParams();
    auto pieces = std::make_shared<std::vector<std::pair<std::uint64_t, std::string>>>();
    for (auto& rg : ranges_of(p))
      for (std::uint64_t at = 0; at < rg.length; at += 65536)
        pieces->push_back(
            {rg.offset + at, std::string(std::min<std::uint64_t>(65536, rg.length - at), 'L')});
    say("fetch of " + std::string(p.getPath().cStr()) + ": serving wrong bytes");
    auto out = std::make_shared<std::string>();
    outcomes.push_back(out);
    return stream_pieces(p.getSink(), pieces, 0, out);
  };
  double end = now_s() + c.o.count;
  while (now_s() < end)
    if (s->wait_disconnected(0.05))
      break;
  result("have queries answered 'complete': " + std::to_string(s->log.haves) +
         "; fetches served with wrong bytes: " + std::to_string(outcomes.size()));
  return 0;
}

} // namespace hostile
