// Conversions between core records and their wire form. Reading from the wire validates:
// a record from a peer is hostile until proven otherwise.
#pragma once

#include <optional>
#include <string>

#include "cascade.capnp.h"
#include "rpc/network.hpp"

namespace cascade::rpc {

void to_wire(const wire_entry& e, wire::Record::Builder out);
void to_wire(const core::version_vector& v, capnp::List<wire::Counter>::Builder out);
// nullopt if a counter is zero or absurd (an empty list is an empty version).
std::optional<core::version_vector> from_wire(capnp::List<wire::Counter>::Reader in);

// Chunk bitmaps of Peer.have: bit i of byte i/8, least significant first.
std::vector<std::uint8_t> pack_bits(const std::vector<bool>& bits);
// nullopt unless `bytes` is exactly the size `n` bits need.
std::optional<std::vector<bool>> unpack_bits(kj::ArrayPtr<const kj::byte> bytes, std::size_t n);

// nullopt and a reason if the record is malformed (bad path, bad hash length, chunks that do
// not tile the file, a version with zero counters, ...).
std::optional<wire_entry> from_wire(wire::Record::Reader in, std::string& why);

} // namespace cascade::rpc
