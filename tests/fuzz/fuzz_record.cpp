// A peer's bytes as one wire::Record message -> rpc::from_wire, the validator every record
// from the network passes through.
#include "wire_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto words = fuzz::words_of(data, size);
  try {
    capnp::FlatArrayMessageReader msg(words, fuzz::reader_options());
    auto rec = msg.getRoot<cascade::wire::Record>();
    std::string why;
    auto e = cascade::rpc::from_wire(rec, why);
    if (e) {
      fuzz::check_accepted(*e);
      fuzz::check_round_trip(*e);
    } else {
      FUZZ_CHECK(!why.empty());
    }
  } catch (kj::Exception&) {
    // Malformed message: capnp refused it, as the RPC layer would.
  }
  return 0;
}
