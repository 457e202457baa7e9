#include "pipe_peers.hpp"

#include <doctest/doctest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <span>

#include "io/buffer_pool.hpp"
#include "io/hasher.hpp"
#include "rpc/tls.hpp"

namespace peers {

std::size_t recorder::logged(const std::string& text) const {
  std::size_t n = 0;
  for (auto& l : logs)
    n += l.find(text) != std::string::npos;
  return n;
}

std::uint64_t collector::bytes() const {
  std::uint64_t n = 0;
  for (auto& p : pieces)
    n += p.data.size();
  return n;
}

std::string collector::assemble(std::size_t size) const {
  std::string out(size, '\0');
  for (auto& p : pieces) {
    REQUIRE(p.offset + p.data.size() <= size);
    std::copy(p.data.begin(), p.data.end(), out.begin() + static_cast<long>(p.offset));
  }
  return out;
}

void collector::move_into(std::string& out) {
  auto all = assemble(out.size());
  for (auto& p : pieces)
    out.replace(p.offset, p.data.size(), all, p.offset, p.data.size());
  pieces.clear();
}

peer::peer(const options& o, const std::string& group) {
  auto base = std::filesystem::temp_directory_path() / "cascade-rpc-peers-XXXXXX";
  std::string tmpl = base.string();
  REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
  dir = tmpl;
  folder = std::make_unique<io::folder>(dir);
  rpc::network_config cfg;
  cfg.private_key_pem = rpc::generate_private_key();
  cfg.self = id = rpc::device_of_private_key(cfg.private_key_pem);
  cfg.group_key = group;
  cfg.folder = folder.get();
  cfg.sink_credit = o.sink_credit;
  net = std::make_unique<rpc::network>(cfg, events);
}

peer::~peer() {
  net.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

void peer::write_file(const std::string& rel, const std::string& bytes) const {
  std::ofstream out(dir + "/" + rel, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

pipe_peers::pipe_peers(options o) : a(o, o.group_a), b(o, o.group_b) {
  a.kj().attach(io);
  b.kj().attach(io);
  auto pipe = kj::newTwoWayPipe();
  b.kj().accepted(kj::mv(pipe.ends[1]), "pipe:a", "pipe");
  target_.host = "pipe";
  target_.port = 2;
  a.kj().tasks->add(a.kj().dial_over(kj::mv(pipe.ends[0]), target_));
  bool ends = pump_until([&] {
    return (!a.events.up.empty() && !b.events.up.empty()) || !a.events.logs.empty() ||
           !b.events.logs.empty();
  });
  REQUIRE(ends);
  if (!a.events.up.empty() && !b.events.up.empty()) {
    a.session = a.events.up.front().id;
    b.session = b.events.up.front().id;
  }
}

pipe_peers::~pipe_peers() {
  a.kj().detach(io.waitScope);
  b.kj().detach(io.waitScope);
}

bool pipe_peers::pump_until(const std::function<bool()>& done, double seconds) {
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  auto& timer = io.provider->getTimer();
  while (!done()) {
    if (std::chrono::steady_clock::now() >= end)
      return false;
    io.waitScope.poll();
    if (done())
      break;
    timer.afterDelay(1 * kj::MILLISECONDS).wait(io.waitScope);
  }
  return true;
}

void pipe_peers::pump_for(std::chrono::milliseconds d) {
  io.provider->getTimer().afterDelay(d.count() * kj::MILLISECONDS).wait(io.waitScope);
}

std::string pattern(std::size_t n, std::uint32_t seed) {
  std::string s(n, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

rpc::wire_entry file_entry(const std::string& path, const std::string& bytes, std::size_t chunk) {
  rpc::wire_entry e;
  auto& r = e.record;
  r.path = path;
  r.size = bytes.size();
  r.mtime_ns = 1'700'000'000'000'000'000;
  r.mode = 0644;
  r.version = core::version_vector({{7, 1}});
  r.modified_by = 7;
  auto* p = reinterpret_cast<const std::uint8_t*>(bytes.data());
  for (std::size_t off = 0; off < bytes.size(); off += chunk) {
    auto len = std::min(chunk, bytes.size() - off);
    r.chunks.push_back({off, static_cast<std::uint32_t>(len), io::sha256({p + off, len})});
  }
  return e;
}

rpc::piece piece_of(std::uint64_t offset, const std::string& bytes) {
  auto* p = reinterpret_cast<const std::uint8_t*>(bytes.data());
  return {offset, io::frame_pool().copy(std::span<const std::uint8_t>(p, bytes.size()))};
}

} // namespace peers
