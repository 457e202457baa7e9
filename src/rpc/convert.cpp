#include "rpc/convert.hpp"

#include <cstring>

#include "core/path.hpp"

namespace cascade::rpc {

namespace {
// Our chunker never cuts above 512 KiB; a peer's chunks may be at most twice that.
constexpr std::uint32_t max_chunk_bytes = 1024 * 1024;
// Counters grow by one per change; one near 2^64 can only be an attack (it would overflow).
constexpr std::uint64_t max_counter = std::uint64_t{1} << 48;
constexpr std::size_t max_target_bytes = 4095;
} // namespace

void to_wire(const core::version_vector& v, capnp::List<wire::Counter>::Builder out) {
  auto& entries = v.entries();
  for (unsigned i = 0; i < entries.size() && i < out.size(); ++i) {
    out[i].setDevice(entries[i].first);
    out[i].setValue(entries[i].second);
  }
}

std::optional<core::version_vector> from_wire(capnp::List<wire::Counter>::Reader in) {
  std::vector<core::version_vector::entry> entries;
  for (auto c : in) {
    if (c.getValue() == 0 || c.getValue() > max_counter)
      return std::nullopt;
    entries.emplace_back(c.getDevice(), c.getValue());
  }
  return core::version_vector(std::move(entries));
}

std::vector<std::uint8_t> pack_bits(const std::vector<bool>& bits) {
  std::vector<std::uint8_t> out((bits.size() + 7) / 8, 0);
  for (std::size_t i = 0; i < bits.size(); ++i)
    if (bits[i])
      out[i / 8] |= static_cast<std::uint8_t>(1u << (i % 8));
  return out;
}

std::optional<std::vector<bool>> unpack_bits(kj::ArrayPtr<const kj::byte> bytes, std::size_t n) {
  if (bytes.size() != (n + 7) / 8)
    return std::nullopt;
  std::vector<bool> out(n);
  for (std::size_t i = 0; i < n; ++i)
    out[i] = (bytes[i / 8] >> (i % 8)) & 1u;
  return out;
}

namespace {

void to_wire(const std::vector<core::chunk>& chunks, capnp::List<wire::Chunk>::Builder out) {
  for (unsigned i = 0; i < chunks.size(); ++i) {
    out[i].setOffset(chunks[i].offset);
    out[i].setLength(chunks[i].length);
    out[i].setHash(kj::arrayPtr(chunks[i].hash.data(), chunks[i].hash.size()));
  }
}

// A chunk's own fields; the caller checks where it lies.
std::optional<core::chunk> chunk_from_wire(wire::Chunk::Reader c) {
  core::chunk ch;
  ch.offset = c.getOffset();
  ch.length = c.getLength();
  auto h = c.getHash();
  if (h.size() != 32 || ch.length == 0 || ch.length > max_chunk_bytes)
    return std::nullopt;
  std::memcpy(ch.hash.data(), h.begin(), 32);
  return ch;
}

// The delta of a record, checked as far as it can be without its base.
std::optional<core::chunk_delta> delta_from_wire(wire::Record::Reader in) {
  auto base = from_wire(in.getDeltaBase());
  if (!base || base->empty() || in.getChunks().size() != 0)
    return std::nullopt;
  core::chunk_delta d{std::move(*base), {}};
  for (auto step : in.getDelta()) {
    core::delta_step s{step.getBaseFirst(), step.getBaseCount(), {}};
    for (auto c : step.getAdded()) {
      auto ch = chunk_from_wire(c);
      if (!ch)
        return std::nullopt;
      s.added.push_back(*ch);
    }
    d.steps.push_back(std::move(s));
  }
  return d;
}

} // namespace

void to_wire(const wire_entry& e, wire::Record::Builder out) {
  auto& r = e.record;
  out.setPath(r.path);
  out.setType(static_cast<wire::FileType>(r.type));
  out.setSize(r.size);
  out.setMtimeNs(r.mtime_ns);
  out.setMode(r.mode);
  out.setDeleted(r.deleted);
  to_wire(r.version, out.initVersion(static_cast<unsigned>(r.version.entries().size())));
  out.setSequence(r.sequence);
  out.setModifiedBy(r.modified_by);
  if (e.delta) {
    to_wire(e.delta->base,
            out.initDeltaBase(static_cast<unsigned>(e.delta->base.entries().size())));
    auto steps = out.initDelta(static_cast<unsigned>(e.delta->steps.size()));
    for (unsigned i = 0; i < e.delta->steps.size(); ++i) {
      auto& step = e.delta->steps[i];
      steps[i].setBaseFirst(step.base_first);
      steps[i].setBaseCount(step.base_count);
      to_wire(step.added, steps[i].initAdded(static_cast<unsigned>(step.added.size())));
    }
  } else {
    to_wire(r.chunks, out.initChunks(static_cast<unsigned>(r.chunks.size())));
  }
  out.setSymlinkTarget(r.symlink_target);
  out.setChangedAtNs(r.changed_at_ns);
  out.setHasData(e.has_data);
  if (e.has_data)
    out.setData(kj::arrayPtr(reinterpret_cast<const kj::byte*>(e.data.data()), e.data.size()));
}

std::optional<wire_entry> from_wire(wire::Record::Reader in, std::string& why) {
  wire_entry e;
  auto& r = e.record;
  auto path = in.getPath();
  r.path.assign(path.begin(), path.size());
  if (auto err = core::validate_path(r.path); err != core::path_error::ok) {
    why = "path '" + core::printable(r.path) + "' " + std::string(core::describe(err));
    return std::nullopt;
  }
  auto type = static_cast<unsigned>(in.getType());
  if (type > 2) {
    why = "unknown file type for '" + core::printable(r.path) + "'";
    return std::nullopt;
  }
  r.type = static_cast<core::file_type>(type);
  r.size = in.getSize();
  r.mtime_ns = in.getMtimeNs();
  r.mode = in.getMode() & 0777; // never setuid, setgid or sticky bits from a peer
  r.deleted = in.getDeleted();
  auto version = from_wire(in.getVersion());
  if (!version) {
    why = "zero or absurd counter in the version of '" + core::printable(r.path) + "'";
    return std::nullopt;
  }
  r.version = std::move(*version);
  if (r.version.empty()) {
    why = "empty version for '" + core::printable(r.path) + "'";
    return std::nullopt;
  }
  r.sequence = in.getSequence();
  r.modified_by = in.getModifiedBy();
  std::uint64_t expect = 0;
  for (auto c : in.getChunks()) {
    auto ch = chunk_from_wire(c);
    if (!ch || ch->offset != expect) {
      why = "malformed chunk list for '" + core::printable(r.path) + "'";
      return std::nullopt;
    }
    expect += ch->length;
    r.chunks.push_back(*ch);
  }
  bool live_file = r.type == core::file_type::file && !r.deleted;
  if (in.hasDeltaBase() || in.hasDelta()) {
    e.delta = delta_from_wire(in);
    if (!e.delta || !live_file) {
      why = "malformed chunk delta for '" + core::printable(r.path) + "'";
      return std::nullopt;
    }
    expect = r.size; // checked once the list is rebuilt from the base
  }
  if ((live_file && expect != r.size) || (!live_file && !r.chunks.empty())) {
    why = "chunks do not cover '" + core::printable(r.path) + "'";
    return std::nullopt;
  }
  auto target = in.getSymlinkTarget();
  r.symlink_target.assign(target.begin(), target.size());
  bool live_link = r.type == core::file_type::symlink && !r.deleted;
  if (r.symlink_target.size() > max_target_bytes ||
      r.symlink_target.find('\0') != std::string::npos || (live_link && r.symlink_target.empty()) ||
      (!live_link && !r.symlink_target.empty())) {
    why = "bad symlink target for '" + core::printable(r.path) + "'";
    return std::nullopt;
  }
  r.changed_at_ns = in.getChangedAtNs();
  e.has_data = in.getHasData();
  if (e.has_data) {
    auto d = in.getData();
    if (!live_file || d.size() != r.size || d.size() > core::inline_limit) {
      why = "inline data does not match '" + core::printable(r.path) + "'";
      return std::nullopt;
    }
    e.data.assign(reinterpret_cast<const char*>(d.begin()), d.size());
  }
  return e;
}

} // namespace cascade::rpc
