// Relay planning for the push cascade (DESIGN.md §4). A file is pushed along a chain: every
// node uploads it once, so a switched LAN carries N copies in about the time of one, and a
// chain of hosts pipelines it hop by hop. Pure: peers are ids, link knowledge is a number.
#pragma once

#include <optional>
#include <vector>

#include "core/device_id.hpp"

namespace cascade::core {

struct relay_candidate {
  device_id id{};
  double rate = 0; // what we know of the link (bytes/s), 0 if nothing yet
};

// The order in which a source's peers relay a file: a chain, fastest known links first (a slow
// link early would slow everyone after it), unknown links after them, ties by id, so that
// two runs over the same input agree.
std::vector<device_id> plan_chain(std::vector<relay_candidate> candidates);

struct relay_step {
  std::optional<device_id> next; // the peer to offer the file to, if any
  std::vector<device_id> rest;   // the chain it should continue
};

// At a node that receives a file with `plan` (the chain still to be served): the peers of the
// plan it is connected to keep their order; connected peers outside the plan (another part of
// the network) follow, ordered by id; the upstream and peers known to hold the version are
// never offered it. Every peer appears at most once.
relay_step next_hop(const std::vector<device_id>& plan, const std::vector<device_id>& connected,
                    const std::vector<device_id>& skip);

struct relay_scope {
  std::vector<device_id> rest;    // the chain still to serve, without anyone visited
  std::vector<device_id> visited; // never offered the file by us or anyone after us
};

// What a node continues when it relays (or, without `upstream`, sources) a file. The offer's
// `visited` list comes from the wire and need not name the sender, so the upstream and we are
// added here: neither we nor anyone downstream (who gets this list) offers the file back to
// the node it came from. Whoever is visited is also taken out of `rest`.
relay_scope relay_scope_for(std::vector<device_id> rest, std::vector<device_id> visited,
                            const device_id& self, const std::optional<device_id>& upstream);

} // namespace cascade::core
