// A peer's bytes as the parameters of Peer.update -> rpc::from_wire for each record, as
// network::impl::on_update does (which refuses batches above 10000 records first).
#include "wire_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto words = fuzz::words_of(data, size);
  try {
    capnp::FlatArrayMessageReader msg(words, fuzz::reader_options());
    auto p = msg.getRoot<cascade::wire::Peer::UpdateParams>();
    auto records = p.getRecords();
    (void)p.getLast();
    if (records.size() > 10000)
      return 0;
    for (auto r : records) {
      std::string why;
      auto e = cascade::rpc::from_wire(r, why);
      if (e) {
        fuzz::check_accepted(*e);
        fuzz::check_round_trip(*e);
      }
    }
  } catch (kj::Exception&) {
  }
  return 0;
}
