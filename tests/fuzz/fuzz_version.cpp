// core::version_vector::decode on arbitrary text (the database's form of version vectors).
#include <algorithm>

#include "core/version_vector.hpp"
#include "fuzz_common.hpp"

using namespace cascade::core;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto v = version_vector::decode(as_text(data, size));
  if (!v)
    return 0;
  auto& e = v->entries();
  for (std::size_t i = 0; i < e.size(); ++i) {
    FUZZ_CHECK(e[i].second > 0);
    if (i > 0)
      FUZZ_CHECK(e[i - 1].first < e[i].first);
  }
  auto text = v->encode();
  auto again = version_vector::decode(text);
  FUZZ_CHECK(again && *again == *v);
  FUZZ_CHECK(again->encode() == text);
  FUZZ_CHECK(compare(*v, *v) == ordering::equal);
  auto m = *v;
  m.merge(*v);
  FUZZ_CHECK(m == *v);
  std::uint64_t top = 0;
  for (auto& [dev, n] : e)
    top = std::max(top, n);
  if (!e.empty() && top < UINT64_MAX) { // bump() asserts below the maximum
    auto b = *v;
    b.bump(e.front().first);
    FUZZ_CHECK(compare(b, *v) == ordering::greater);
  }
  return 0;
}
