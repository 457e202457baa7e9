// core::parse_device_id and base32_decode on arbitrary text (ids and keys typed by users,
// device ids announced over mDNS).
#include "core/device_id.hpp"
#include "fuzz_common.hpp"

using namespace cascade::core;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto text = as_text(data, size);
  if (auto id = parse_device_id(text)) {
    auto shown = format_device_id(*id);
    auto again = parse_device_id(shown);
    FUZZ_CHECK(again && *again == *id);
    (void)format_short_id(short_of(*id));
  }
  if (auto raw = base32_decode(text)) {
    auto enc = base32_encode(reinterpret_cast<const std::uint8_t*>(raw->data()), raw->size());
    auto again = base32_decode(enc);
    FUZZ_CHECK(again && *again == *raw);
  }
  // Any bytes survive an encode/decode round trip.
  auto enc = base32_encode(data, size);
  auto dec = base32_decode(enc);
  FUZZ_CHECK(dec && *dec == std::string(text));
  if (size >= 32) {
    device_id id{};
    std::copy(data, data + 32, id.begin());
    auto again = parse_device_id(format_device_id(id));
    FUZZ_CHECK(again && *again == id);
  }
  return 0;
}
