// The deny list of a folder (state/denied, one device id a line): devices removed from the
// group. `node --dir X --deny ID` appends; a running node rereads it every second.
#pragma once

#include <string>
#include <vector>

#include "core/device_id.hpp"

namespace cascade::app {

std::vector<core::device_id> read_denied(const std::string& state_dir);
// Appends `id` (durably). Throws std::runtime_error.
void append_denied(const std::string& state_dir, const core::device_id& id);

} // namespace cascade::app
