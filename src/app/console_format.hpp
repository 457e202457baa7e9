// Small formatting helpers shared by the console's renderers (console_output.cpp: status,
// peers, actors, transfers; console_output_files.cpp: files, conflicts). Defined in
// console_format.cpp with the JSON writer and the human-readable units of console_output.hpp.
#pragma once

#include <cstdint>
#include <string>

#include "app/console_output.hpp"

namespace cascade::app::render {

std::string str(capnp::Text::Reader t);
// Nanoseconds as milliseconds (the JSON shapes' *_ms fields).
double ms(std::int64_t ns);
// One number through a printf format.
std::string fmt(const char* f, double v);
// "2024-05-01 12:00:00.123 UTC"; "-" for 0.
std::string utc(std::int64_t ns);
// A JSON string, or null for an empty text.
void text_or_null(json& j, capnp::Text::Reader t);

} // namespace cascade::app::render
