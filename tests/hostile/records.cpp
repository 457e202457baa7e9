// The hostile peer's records and update batches (any name, type, size, chunk list or inline
// data the wire can carry), generated file content, and streaming bytes into a node's sink.
#include <algorithm>
#include <cstring>

#include "hostile_peer.hpp"
#include "io/hasher.hpp"

namespace hostile {

// ------------------------------------------------------------------ records

rec file_inline(std::string path, std::string content, std::uint32_t mode) {
  rec r;
  r.path = std::move(path);
  r.size = content.size();
  r.mode = mode;
  if (!content.empty())
    r.chunks.push_back({0, static_cast<std::uint32_t>(content.size()), sha(content)});
  r.has_data = true;
  r.data = std::move(content);
  return r;
}

rec symlink_rec(std::string path, std::string target) {
  rec r;
  r.path = std::move(path);
  r.type = wire::FileType::SYMLINK;
  r.mode = 0777;
  r.target = std::move(target);
  return r;
}

rec dir_rec(std::string path) {
  rec r;
  r.path = std::move(path);
  r.type = wire::FileType::DIR;
  r.mode = 0755;
  return r;
}

void writer::fill(const rec& r, wire::Record::Builder b) {
  b.setPath(capnp::Text::Reader(r.path.data(), r.path.size()));
  b.setType(r.type);
  b.setSize(r.size);
  b.setMtimeNs(mtime);
  b.setMode(r.mode);
  b.setDeleted(r.deleted);
  auto v = b.initVersion(1);
  v[0].setDevice(me);
  v[0].setValue(r.counter > 0 ? r.counter : ++counter);
  b.setSequence(++seq);
  b.setModifiedBy(me);
  auto set_chunks = [](const std::vector<core::chunk>& from, capnp::List<wire::Chunk>::Builder to) {
    for (unsigned i = 0; i < from.size(); ++i) {
      to[i].setOffset(from[i].offset);
      to[i].setLength(from[i].length);
      to[i].setHash(kj::arrayPtr(from[i].hash.data(), 32));
    }
  };
  if (r.delta) {
    auto base = b.initDeltaBase(1);
    base[0].setDevice(me);
    base[0].setValue(r.delta_base);
    auto steps = b.initDelta(static_cast<unsigned>(r.delta->size()));
    for (unsigned i = 0; i < r.delta->size(); ++i) {
      auto& st = (*r.delta)[i];
      steps[i].setBaseFirst(st.base_first);
      steps[i].setBaseCount(st.base_count);
      set_chunks(st.added, steps[i].initAdded(static_cast<unsigned>(st.added.size())));
    }
  } else {
    set_chunks(r.chunks, b.initChunks(static_cast<unsigned>(r.chunks.size())));
  }
  if (!r.target.empty())
    b.setSymlinkTarget(capnp::Text::Reader(r.target.data(), r.target.size()));
  b.setHasData(r.has_data);
  if (r.fake_data > 0) {
    auto d = b.initData(static_cast<unsigned>(r.fake_data));
    std::memset(d.begin(), 'A', d.size());
  } else if (r.has_data) {
    b.setData(kj::arrayPtr(reinterpret_cast<const kj::byte*>(r.data.data()), r.data.size()));
  }
}

// Sends one update batch; returns "" if the node acknowledged it, else the error.
namespace {
capnp::Request<wire::Peer::UpdateParams, wire::Peer::UpdateResults>
update_request(session& s, writer& w, const std::vector<rec>& recs) {
  auto req = s.peer().updateRequest();
  auto list = req.initRecords(static_cast<unsigned>(recs.size()));
  for (unsigned i = 0; i < recs.size(); ++i)
    w.fill(recs[i], list[i]);
  req.setLast(w.seq);
  return req;
}
} // namespace

std::string send_update(session& s, writer& w, const std::vector<rec>& recs, double secs) {
  auto req = update_request(s, w, recs);
  try {
    s.wait(req.send().ignoreResult(), secs, "update");
    return "";
  } catch (kj::Exception& e) {
    return e.getDescription().cStr();
  }
}

std::string send_update_answer(session& s, writer& w, const std::vector<rec>& recs) {
  auto req = update_request(s, w, recs);
  try {
    auto answer = s.wait(req.send(), 30, "update");
    return answer.getNeedFull() ? "needFull" : "recorded";
  } catch (kj::Exception& e) {
    return e.getDescription().cStr();
  }
}

// Sends an update, retrying a few times while the node's index has not seen the session yet.
std::string send_update_retry(session& s, writer& w, const std::vector<rec>& recs) {
  std::string err;
  for (int attempt = 0; attempt < 5; ++attempt) {
    err = send_update(s, w, recs);
    if (err.empty() || err.find("update rejected") == std::string::npos)
      return err;
    s.sleep(0.3);
  }
  return err;
}

// A file of `size` bytes cut in chunks of `chunk` bytes; content from fill_block(seed + i).
std::vector<core::chunk> chunks_of(std::uint64_t size, std::uint32_t chunk, std::uint64_t seed) {
  std::vector<core::chunk> out;
  std::vector<std::uint8_t> buf(chunk);
  for (std::uint64_t off = 0, i = 0; off < size; off += chunk, ++i) {
    auto n = static_cast<std::uint32_t>(std::min<std::uint64_t>(chunk, size - off));
    buf.resize(n);
    fill_block(seed + i, buf.data(), n);
    out.push_back({off, n, io::sha256(buf)});
  }
  return out;
}

// ------------------------------------------------------------------ fetch serving

std::vector<range> ranges_of(wire::Peer::FetchParams::Reader p) {
  std::vector<range> out;
  for (auto r : p.getRanges())
    out.push_back({r.getOffset(), r.getLength()});
  return out;
}

// Streams `pieces` (offset, bytes) into the sink in order, then done(""). Stops quietly at the
// first failed write (the node cancelled the fetch).
kj::Promise<void>
stream_pieces(wire::ChunkSink::Client sink,
              std::shared_ptr<std::vector<std::pair<std::uint64_t, std::string>>> pieces,
              std::size_t idx, std::shared_ptr<std::string> outcome) {
  if (idx >= pieces->size()) {
    auto d = sink.doneRequest();
    d.setError("");
    return d.send().ignoreResult().then([outcome]() { *outcome = "done acknowledged"; },
                                        [outcome](kj::Exception&& e) {
                                          *outcome = std::string("done failed: ") +
                                                     e.getDescription().cStr();
                                        });
  }
  auto req = sink.writeRequest();
  auto list = req.initPieces(1);
  auto& [off, bytes] = (*pieces)[idx];
  list[0].setOffset(off);
  list[0].setData(kj::arrayPtr(reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size()));
  return req.send().then(
      [sink, pieces, idx, outcome]() mutable {
        return stream_pieces(kj::mv(sink), pieces, idx + 1, outcome);
      },
      [outcome](kj::Exception&& e) {
        *outcome = std::string("write refused: ") + e.getDescription().cStr();
      });
}

} // namespace hostile
