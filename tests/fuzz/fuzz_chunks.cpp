// io::decode_chunks on arbitrary blobs (the database's form of chunk lists).
#include "fuzz_common.hpp"
#include "io/store.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto blob = as_text(data, size);
  auto c = cascade::io::decode_chunks(blob);
  if (!c)
    return 0;
  FUZZ_CHECK(c->size() * 44 == size);
  FUZZ_CHECK(cascade::io::encode_chunks(*c) == blob);
  return 0;
}
