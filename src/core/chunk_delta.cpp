#include "core/chunk_delta.hpp"

#include <cstring>
#include <unordered_map>

namespace cascade::core {

namespace {

// Wire cost per element (Cap'n Proto: a Chunk is 24 bytes inline plus its 32-byte hash; a step
// 16 bytes inline plus its list pointer).
constexpr std::size_t chunk_bytes = 56;
constexpr std::size_t step_bytes = 24;

struct digest_hash {
  std::size_t operator()(const sha256_digest& d) const {
    std::size_t h;
    std::memcpy(&h, d.data(), sizeof h); // SHA-256 output: any 8 bytes are uniform
    return h;
  }
};

void put(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

struct reader {
  std::string_view in;
  bool ok = true;
  std::uint64_t get(int bytes) {
    if (in.size() < static_cast<std::size_t>(bytes)) {
      ok = false;
      return 0;
    }
    std::uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i)
      v = (v << 8) | static_cast<unsigned char>(in[static_cast<std::size_t>(i)]);
    in.remove_prefix(static_cast<std::size_t>(bytes));
    return v;
  }
};

} // namespace

std::size_t added_chunks(const chunk_delta& d) {
  std::size_t n = 0;
  for (auto& s : d.steps)
    n += s.added.size();
  return n;
}

std::size_t wire_bytes(const chunk_delta& d) {
  return d.steps.size() * step_bytes + added_chunks(d) * chunk_bytes + d.base.entries().size() * 16;
}

std::optional<chunk_delta> make_delta(const version_vector& base_version,
                                      const std::vector<chunk>& base,
                                      const std::vector<chunk>& next) {
  if (next.size() < min_delta_chunks || base.empty() || base_version.empty())
    return std::nullopt;
  std::unordered_map<sha256_digest, std::uint32_t, digest_hash> first_at;
  first_at.reserve(base.size());
  for (std::uint32_t i = static_cast<std::uint32_t>(base.size()); i-- > 0;)
    first_at[base[i].hash] = i; // walking backwards leaves the first occurrence
  chunk_delta d{base_version, {delta_step{}}};
  std::uint32_t expect = 0; // where the base run of the current step would continue
  for (const auto& c : next) {
    auto& step = d.steps.back();
    bool continues = step.added.empty() && step.base_count > 0 && expect < base.size() &&
                     base[expect].hash == c.hash && base[expect].length == c.length;
    if (continues) {
      ++step.base_count;
      ++expect;
      continue;
    }
    auto it = first_at.find(c.hash);
    if (it != first_at.end() && base[it->second].length == c.length) {
      if (step.base_count > 0 || !step.added.empty())
        d.steps.push_back(delta_step{});
      d.steps.back().base_first = it->second;
      d.steps.back().base_count = 1;
      expect = it->second + 1;
      continue;
    }
    step.added.push_back(c);
  }
  if (wire_bytes(d) * 2 > next.size() * chunk_bytes)
    return std::nullopt;
  return d;
}

std::optional<std::vector<chunk>> apply_delta(const chunk_delta& d, const std::vector<chunk>& base,
                                              std::uint64_t size) {
  std::vector<chunk> out;
  std::uint64_t offset = 0;
  auto fits = [&](const chunk& c) {
    return c.length > 0 && c.length <= size - offset && out.size() < max_delta_result;
  };
  for (const auto& s : d.steps) {
    if (s.base_first > base.size() || s.base_count > base.size() - s.base_first)
      return std::nullopt;
    for (std::uint32_t i = s.base_first; i < s.base_first + s.base_count; ++i) {
      chunk c = base[i];
      if (!fits(c))
        return std::nullopt;
      c.offset = offset;
      offset += c.length;
      out.push_back(c);
    }
    for (const auto& a : s.added) {
      if (a.offset != offset || !fits(a))
        return std::nullopt;
      offset += a.length;
      out.push_back(a);
    }
  }
  if (offset != size)
    return std::nullopt;
  return out;
}

std::string encode(const chunk_delta& d) {
  std::string out;
  auto v = d.base.encode();
  put(out, v.size(), 4);
  out += v;
  put(out, d.steps.size(), 4);
  for (const auto& s : d.steps) {
    put(out, s.base_first, 4);
    put(out, s.base_count, 4);
    put(out, s.added.size(), 4);
    for (const auto& c : s.added) {
      put(out, c.offset, 8);
      put(out, c.length, 4);
      out.append(reinterpret_cast<const char*>(c.hash.data()), c.hash.size());
    }
  }
  return out;
}

std::optional<chunk_delta> decode_delta(std::string_view blob) {
  reader r{blob};
  chunk_delta d;
  auto vlen = r.get(4);
  if (!r.ok || vlen > r.in.size())
    return std::nullopt;
  auto v = version_vector::decode(r.in.substr(0, vlen));
  if (!v)
    return std::nullopt;
  d.base = std::move(*v);
  r.in.remove_prefix(vlen);
  auto steps = r.get(4);
  for (std::uint64_t i = 0; r.ok && i < steps; ++i) {
    delta_step s;
    s.base_first = static_cast<std::uint32_t>(r.get(4));
    s.base_count = static_cast<std::uint32_t>(r.get(4));
    auto n = r.get(4);
    if (!r.ok || n > r.in.size() / 44)
      return std::nullopt;
    for (std::uint64_t k = 0; k < n; ++k) {
      chunk c;
      c.offset = r.get(8);
      c.length = static_cast<std::uint32_t>(r.get(4));
      if (!r.ok || r.in.size() < 32)
        return std::nullopt;
      std::memcpy(c.hash.data(), r.in.data(), 32);
      r.in.remove_prefix(32);
      s.added.push_back(c);
    }
    d.steps.push_back(std::move(s));
  }
  if (!r.ok || !r.in.empty())
    return std::nullopt;
  return d;
}

} // namespace cascade::core
