// How `node console` shows answers: text for people, JSON (one object per answer, the shapes
// of docs/console.md) for scripts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "console.capnp.h"

namespace cascade::app {

namespace cw = console_wire;

// A small JSON writer: compact, keys in the order written, strings escaped.
class json {
public:
  json& begin_object();
  json& end_object();
  json& begin_array();
  json& end_array();
  json& key(std::string_view k);
  json& value(std::string_view s);
  json& value(const char* s) { return value(std::string_view(s)); }
  json& value(std::uint64_t v);
  json& value(std::int64_t v);
  json& value(std::uint32_t v) { return value(static_cast<std::uint64_t>(v)); }
  json& value(double v);
  json& value(bool v);
  json& null();
  template <class T> json& field(std::string_view k, T v) { return key(k).value(v); }
  const std::string& str() const { return out_; }

private:
  void comma();
  std::string out_;
  std::vector<bool> first_; // per open container: nothing written yet
  bool after_key_ = false;
};

// Byte counts and durations the way people read them: "1.5 MiB", "2.3 ms", "1h02m".
std::string human_bytes(double bytes);
std::string human_duration_ns(std::int64_t ns);

// Text.
std::string text_status(cw::Status::Reader s);
// Current faults, one a line: "name (for 12 s): message"; the first line without `indent`.
std::string text_faults(capnp::List<cw::Fault>::Reader faults, const char* indent = "");
void json_faults(json& j, capnp::List<cw::Fault>::Reader faults);
std::string text_peers(capnp::List<cw::Peer>::Reader peers);
std::string text_actors(capnp::List<cw::Actor>::Reader actors);
std::string text_transfers(capnp::List<cw::Transfer>::Reader transfers);
std::string text_files(capnp::List<cw::File>::Reader files, bool truncated);
std::string text_conflicts(capnp::List<cw::Conflict>::Reader conflicts);
std::string text_versions(capnp::List<cw::Version>::Reader versions);
std::string text_ignores(capnp::List<cw::IgnorePattern>::Reader patterns,
                         capnp::List<capnp::Text>::Reader warnings);
std::string text_ignored(capnp::List<capnp::Text>::Reader paths, bool truncated);
// out-of-sync and local-changes: "CHANGE PATH" lines, or `none` when empty.
std::string text_mode_paths(capnp::List<capnp::Text>::Reader paths,
                            capnp::List<capnp::Text>::Reader changes, bool truncated,
                            const char* none);
// One transfer's progress bar, `width` characters between the brackets.
std::string progress_bar(double fraction, int width);

// JSON: each writes one value into `j`.
void json_status(json& j, cw::Status::Reader s);
void json_peers(json& j, capnp::List<cw::Peer>::Reader peers);
void json_actors(json& j, capnp::List<cw::Actor>::Reader actors);
void json_transfers(json& j, capnp::List<cw::Transfer>::Reader transfers);
void json_files(json& j, capnp::List<cw::File>::Reader files, bool truncated);
void json_conflicts(json& j, capnp::List<cw::Conflict>::Reader conflicts);
void json_versions(json& j, capnp::List<cw::Version>::Reader versions);
void json_ignores(json& j, capnp::List<cw::IgnorePattern>::Reader patterns,
                  capnp::List<capnp::Text>::Reader warnings);
void json_ignored(json& j, capnp::List<capnp::Text>::Reader paths, bool truncated);
// {"paths": [{"path", "change"}], "truncated"}
void json_mode_paths(json& j, capnp::List<capnp::Text>::Reader paths,
                     capnp::List<capnp::Text>::Reader changes, bool truncated);

} // namespace cascade::app
