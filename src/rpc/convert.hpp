// Conversions between core records and their wire form. Reading from the wire validates:
// a record from a peer is hostile until proven otherwise.
#pragma once

#include <optional>
#include <string>

#include "cascade.capnp.h"
#include "rpc/network.hpp"

namespace cascade::rpc {

void to_wire(const wire_entry& e, wire::Record::Builder out);

// nullopt and a reason if the record is malformed (bad path, bad hash length, chunks that do
// not tile the file, a version with zero counters, ...).
std::optional<wire_entry> from_wire(wire::Record::Reader in, std::string& why);

} // namespace cascade::rpc
