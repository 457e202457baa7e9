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
  for (; i < normal; ++i) {
    fp = (fp << 1) + gear[d[i]];
    if ((fp & mask_s) == 0)
      return i + 1;
  }
  for (; i < end; ++i) {
    fp = (fp << 1) + gear[d[i]];
    if ((fp & mask_l) == 0)
      return i + 1;
  }
  return end;
}

} // namespace cascade::core
