// The JSON writer, human-readable units and the shared formatting helpers of the console's
// renderers (console_output.hpp, console_format.hpp).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "app/console_format.hpp"
#include "app/console_output.hpp"

namespace cascade::app {

// --- json ---

void json::comma() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back())
      out_ += ',';
    first_.back() = false;
  }
}

json& json::begin_object() {
  comma();
  out_ += '{';
  first_.push_back(true);
  return *this;
}
json& json::end_object() {
  out_ += '}';
  first_.pop_back();
  return *this;
}
json& json::begin_array() {
  comma();
  out_ += '[';
  first_.push_back(true);
  return *this;
}
json& json::end_array() {
  out_ += ']';
  first_.pop_back();
  return *this;
}
json& json::key(std::string_view k) {
  value(k);
  out_ += ':';
  after_key_ = true;
  return *this;
}
json& json::value(std::string_view s) {
  comma();
  out_ += '"';
  for (unsigned char c : s) {
    switch (c) {
    case '"':
      out_ += "\\\"";
      break;
    case '\\':
      out_ += "\\\\";
      break;
    case '\n':
      out_ += "\\n";
      break;
    case '\t':
      out_ += "\\t";
      break;
    case '\r':
      out_ += "\\r";
      break;
    default:
      if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out_ += buf;
      } else {
        out_ += static_cast<char>(c);
      }
    }
  }
  out_ += '"';
  return *this;
}
json& json::value(std::uint64_t v) {
  comma();
  out_ += std::to_string(v);
  return *this;
}
json& json::value(std::int64_t v) {
  comma();
  out_ += std::to_string(v);
  return *this;
}
json& json::value(double v) {
  comma();
  if (!std::isfinite(v)) {
    out_ += "null";
    return *this;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  out_ += buf;
  return *this;
}
json& json::value(bool v) {
  comma();
  out_ += v ? "true" : "false";
  return *this;
}
json& json::null() {
  comma();
  out_ += "null";
  return *this;
}

namespace render {

std::string str(capnp::Text::Reader t) {
  return std::string(t.cStr(), t.size());
}

double ms(std::int64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string utc(std::int64_t ns) {
  if (ns <= 0)
    return "-";
  std::time_t t = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return std::string(buf) + fmt(".%03.0f", static_cast<double>((ns / 1'000'000) % 1000)) + " UTC";
}

void text_or_null(json& j, capnp::Text::Reader t) {
  if (t.size() == 0)
    j.null();
  else
    j.value(str(t));
}

} // namespace render

using render::fmt;

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  return u == 0 ? fmt("%.0f", b) + " B"
                : fmt(b < 10    ? "%.2f"
                      : b < 100 ? "%.1f"
                                : "%.0f",
                      b) +
                      " " + units[u];
}

std::string human_duration_ns(std::int64_t ns) {
  if (ns < 0)
    return "-";
  if (ns < 1'000'000)
    return fmt("%.0f us", static_cast<double>(ns) / 1e3);
  if (ns < 1'000'000'000)
    return fmt(ns < 10'000'000 ? "%.2f ms" : "%.1f ms", static_cast<double>(ns) / 1e6);
  auto s = ns / 1'000'000'000;
  if (s < 60)
    return fmt("%.1f s", static_cast<double>(ns) / 1e9);
  char buf[64];
  if (s < 3600)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  else if (s < 86400)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm%02llds", static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60), static_cast<long long>(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%lldd%02lldh%02lldm", static_cast<long long>(s / 86400),
                  static_cast<long long>(s % 86400 / 3600), static_cast<long long>(s % 3600 / 60));
  return buf;
}

std::string progress_bar(double f, int width) {
  f = std::clamp(f, 0.0, 1.0);
  int full = static_cast<int>(f * width + 0.5);
  return "[" + std::string(full, '#') + std::string(width - full, '.') + "]";
}

} // namespace cascade::app
