// One-line log records on stderr, safe from any thread.
#pragma once

#include <string>

namespace cascade::io {

enum class level { trace = 0, debug = 1, info = 2, warn = 3, error = 4 };

void set_log_level(level l);
level log_level();
// "trace" ... "error"; parse_level accepts those names (any case).
const char* level_name(level l);
bool parse_level(const std::string& name, level& out);
bool log_enabled(level l);
void log(level l, const std::string& line);

inline void log_info(const std::string& s) {
  log(level::info, s);
}
inline void log_warn(const std::string& s) {
  log(level::warn, s);
}
inline void log_error(const std::string& s) {
  log(level::error, s);
}
inline void log_debug(const std::string& s) {
  log(level::debug, s);
}

} // namespace cascade::io
