#include "io/log.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace cascade::io {

namespace {
std::atomic<int> current{static_cast<int>(level::info)};
std::mutex out_mutex;
const char* names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR"};
} // namespace

void set_log_level(level l) {
  current = static_cast<int>(l);
}

level log_level() {
  return static_cast<level>(current.load());
}

const char* level_name(level l) {
  static const char* lower[] = {"trace", "debug", "info", "warn", "error"};
  auto i = static_cast<int>(l);
  return i >= 0 && i <= 4 ? lower[i] : "?";
}

bool parse_level(const std::string& name, level& out) {
  for (int i = 0; i <= 4; ++i) {
    std::string want = level_name(static_cast<level>(i));
    if (name.size() == want.size() &&
        std::equal(name.begin(), name.end(), want.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == b;
        })) {
      out = static_cast<level>(i);
      return true;
    }
  }
  return false;
}

bool log_enabled(level l) {
  return static_cast<int>(l) >= current.load();
}

void log(level l, const std::string& line) {
  if (!log_enabled(l))
    return;
  auto now = std::chrono::system_clock::now();
  auto t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::lock_guard lock(out_mutex);
  std::fprintf(stderr, "%s.%03dZ %-5s %s\n", stamp, static_cast<int>(ms.count()),
               names[static_cast<int>(l)], line.c_str());
  std::fflush(stderr);
}

} // namespace cascade::io
