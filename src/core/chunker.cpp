#include "core/chunker.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>

namespace cascade::core {
namespace {

// The gear table. Every node must cut at the same places or no chunk would ever match a peer's,
// so the table is derived from a fixed seed and must never change.
constexpr std::array<std::uint64_t, 256> make_gear() {
  std::array<std::uint64_t, 256> t{};
  std::uint64_t state = 0x63617363616465ULL; // "cascade"
  for (auto& v : t) {
    // splitmix64: a well-mixed 64-bit value per step, computable at compile time.
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    v = z ^ (z >> 31);
  }
  return t;
}
constexpr std::array<std::uint64_t, 256> gear = make_gear();

// A mask of `bits` ones in the top of the word. With the shift-left gear hash, the high bits
// depend on the last 64 bytes while the low bits only on the last few, so they cut better.
constexpr std::uint64_t top_mask(unsigned bits) {
  return bits == 0 ? 0 : ~std::uint64_t{0} << (64 - std::min(bits, 64u));
}

// Rolls the gear hash over d[i, end) and returns the first position after a byte where
// (fp & mask) == 0, or 0 (with i == end and fp rolled on). Four bytes a step: each of the four
// hashes is `fp` shifted plus a sum that does not depend on `fp`, so the CPU computes them side
// by side instead of one dependent shift-and-add per byte; the cuts are exactly those of the
// byte-by-byte loop (fp = (fp << 1) + gear[byte]; test) that finishes the tail.
std::size_t scan(const std::uint8_t* d, std::size_t& i, std::size_t end, std::uint64_t& fp,
                 std::uint64_t mask) {
  for (; i + 4 <= end; i += 4) {
    const std::uint64_t a = gear[d[i]], b = gear[d[i + 1]], c = gear[d[i + 2]],
                        e = gear[d[i + 3]];
    const std::uint64_t f1 = (fp << 1) + a;
    const std::uint64_t f2 = (fp << 2) + (a << 1) + b;
    const std::uint64_t f3 = (fp << 3) + (a << 2) + (b << 1) + c;
    const std::uint64_t f4 = (fp << 4) + (a << 3) + (b << 2) + (c << 1) + e;
    if (((f1 & mask) == 0) | ((f2 & mask) == 0) | ((f3 & mask) == 0) | ((f4 & mask) == 0)) {
      if ((f1 & mask) == 0)
        return i + 1;
      if ((f2 & mask) == 0)
        return i + 2;
      if ((f3 & mask) == 0)
        return i + 3;
      return i + 4;
    }
    fp = f4;
  }
  for (; i < end; ++i) {
    fp = (fp << 1) + gear[d[i]];
    if ((fp & mask) == 0)
      return i + 1;
  }
  return 0;
}

} // namespace

std::size_t next_cut(std::span<const std::uint8_t> data, bool at_eof, const cdc_params& p) {
  assert(std::has_single_bit(p.avg_size));
  assert(p.min_size <= p.avg_size && p.avg_size <= p.max_size && p.max_size > 0);
  // Without at_eof the caller must give a whole window, or a cut would depend on its buffering.
  assert(at_eof || data.size() >= p.max_size);
  (void)at_eof;

  const std::size_t end = std::min(data.size(), p.max_size);
  if (end <= p.min_size)
    return end;

  // Normalized chunking (FastCDC, level 2): a harder mask (two more bits) before the average
  // size and an easier one (two fewer) after, which pulls chunk sizes towards the average.
  const auto avg_bits = static_cast<unsigned>(std::countr_zero(p.avg_size));
  const std::uint64_t mask_s = top_mask(avg_bits + 2);
  const std::uint64_t mask_l = top_mask(avg_bits >= 2 ? avg_bits - 2 : 0);

  const std::uint8_t* d = data.data();
  const std::size_t normal = std::clamp(p.avg_size, p.min_size, end);
  std::uint64_t fp = 0;
  std::size_t i = p.min_size; // cut-point skipping: nothing below min_size is even hashed
  if (auto cut = scan(d, i, normal, fp, mask_s))
    return cut;
  if (auto cut = scan(d, i, end, fp, mask_l))
    return cut;
  return end;
}

} // namespace cascade::core
