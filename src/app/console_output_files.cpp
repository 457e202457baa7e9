// How `node console` shows index records (files) and conflict copies, in text and in JSON.
#include <cstdio>
#include <iomanip>
#include <sstream>

#include "app/console_format.hpp"
#include "app/console_output.hpp"

namespace cascade::app {

using namespace render;

// --- files ---

namespace {

std::string octal(std::uint32_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04o", mode);
  return buf;
}

std::string version_text(capnp::List<cw::VersionEntry>::Reader v) {
  std::string out;
  for (auto e : v)
    out += (out.empty() ? "" : " ") + str(e.getDevice()).substr(0, 7) + ":" +
           std::to_string(e.getCounter());
  return out.empty() ? "(empty)" : out;
}

void record_json(json& j, cw::Record::Reader r) {
  j.begin_object()
      .field("path", str(r.getPath()))
      .field("type", str(r.getType()))
      .field("size", r.getSize())
      .field("mtime_ns", r.getMtimeNs())
      .field("mode", octal(r.getMode()))
      .field("deleted", r.getDeleted())
      .key("version")
      .begin_array();
  for (auto e : r.getVersion()) {
    j.begin_object().key("device").value(str(e.getDevice())).key("device_id");
    text_or_null(j, e.getDeviceId());
    j.key("counter").value(e.getCounter()).end_object();
  }
  j.end_array().key("sequence").value(r.getSequence()).key("modified_by");
  text_or_null(j, r.getModifiedBy());
  j.key("chunks").begin_array();
  for (auto c : r.getChunks())
    j.begin_object()
        .field("offset", c.getOffset())
        .field("length", c.getLength())
        .field("sha256", str(c.getHash()))
        .end_object();
  j.end_array().key("symlink_target");
  text_or_null(j, r.getSymlinkTarget());
  j.key("changed_at_ns");
  if (r.getChangedAtNs() > 0)
    j.value(r.getChangedAtNs());
  else
    j.null();
  j.end_object();
}

} // namespace

std::string text_files(capnp::List<cw::File>::Reader files, bool truncated) {
  if (files.size() == 0)
    return "no matching records\n";
  std::ostringstream o;
  for (auto f : files) {
    auto r = f.getRecord();
    o << str(r.getPath()) << "  " << str(r.getType());
    if (r.getDeleted())
      o << " (deleted)";
    else if (r.getType() == "file")
      o << " " << r.getSize() << " B";
    else if (r.getType() == "symlink")
      o << " -> " << str(r.getSymlinkTarget());
    o << "  mode " << octal(r.getMode()) << "  mtime " << utc(r.getMtimeNs()) << "\n";
    o << "    version  " << version_text(r.getVersion()) << "  sequence " << r.getSequence()
      << "  modified by " << str(r.getModifiedBy()).substr(0, 7) << "\n";
    if (r.getChangedAtNs() > 0)
      o << "    changed  " << utc(r.getChangedAtNs()) << " (seen by its source's watcher)\n";
    auto chunks = r.getChunks();
    if (chunks.size()) {
      o << "    chunks   " << chunks.size() << "\n";
      unsigned shown = 0;
      for (auto c : chunks) {
        if (++shown > 4) {
          o << "      ... " << chunks.size() - 4 << " more\n";
          break;
        }
        o << "      @" << c.getOffset() << " +" << c.getLength() << "  "
          << str(c.getHash()).substr(0, 16) << "...\n";
      }
    }
    o << "    has     ";
    for (auto h : f.getHas())
      o << " " << str(h);
    o << "\n";
    if (f.getSentTo().size()) {
      o << "    sent to ";
      for (auto h : f.getSentTo())
        o << " " << str(h);
      o << "\n";
    }
    if (f.getReceivedFrom().size())
      o << "    from     " << str(f.getReceivedFrom()) << "\n";
    if (f.getHasNeeded())
      o << "    needed   version " << version_text(f.getNeeded().getVersion()) << " from "
        << str(f.getNeededFrom()) << " (not applied yet)\n";
  }
  if (truncated)
    o << "(more records match; narrow the pattern)\n";
  return o.str();
}

void json_files(json& j, capnp::List<cw::File>::Reader files, bool truncated) {
  j.begin_object().key("files").begin_array();
  for (auto f : files) {
    j.begin_object().key("record");
    record_json(j, f.getRecord());
    j.key("has").begin_array();
    for (auto h : f.getHas())
      j.value(str(h));
    j.end_array().key("sent_to").begin_array();
    for (auto h : f.getSentTo())
      j.value(str(h));
    j.end_array().key("received_from");
    text_or_null(j, f.getReceivedFrom());
    j.key("needed");
    if (f.getHasNeeded()) {
      j.begin_object().key("from").value(str(f.getNeededFrom())).key("record");
      record_json(j, f.getNeeded());
      j.end_object();
    } else {
      j.null();
    }
    j.end_object();
  }
  j.end_array().key("truncated").value(truncated).end_object();
}

// --- conflicts ---

std::string text_conflicts(capnp::List<cw::Conflict>::Reader conflicts) {
  if (conflicts.size() == 0)
    return "no conflicts\n";
  std::ostringstream o;
  for (auto c : conflicts)
    o << str(c.getPath()) << "\n    the losing copy of " << str(c.getOriginal()) << ", by "
      << str(c.getDevice()) << ", modified " << utc(c.getMtimeNs()) << ", "
      << human_bytes(static_cast<double>(c.getSize())) << "\n";
  return o.str();
}

void json_conflicts(json& j, capnp::List<cw::Conflict>::Reader conflicts) {
  j.begin_array();
  for (auto c : conflicts)
    j.begin_object()
        .field("path", str(c.getPath()))
        .field("original", str(c.getOriginal()))
        .field("device", str(c.getDevice()))
        .field("time", str(c.getTime()))
        .field("size", c.getSize())
        .field("mtime_ns", c.getMtimeNs())
        .end_object();
  j.end_array();
}

// --- versions ---

std::string text_versions(capnp::List<cw::Version>::Reader versions) {
  if (versions.size() == 0)
    return "no versions\n";
  std::ostringstream o;
  for (auto v : versions)
    o << str(v.getPath()) << "  " << str(v.getTime()) << "  "
      << human_bytes(static_cast<double>(v.getSize())) << "  (modified " << utc(v.getMtimeNs())
      << ")\n";
  return o.str();
}

void json_versions(json& j, capnp::List<cw::Version>::Reader versions) {
  j.begin_array();
  for (auto v : versions)
    j.begin_object()
        .field("path", str(v.getPath()))
        .field("name", str(v.getName()))
        .field("time", str(v.getTime()))
        .field("size", v.getSize())
        .field("mtime_ns", v.getMtimeNs())
        .end_object();
  j.end_array();
}

// --- ignores ---

std::string text_ignores(capnp::List<cw::IgnorePattern>::Reader patterns,
                         capnp::List<capnp::Text>::Reader warnings) {
  std::ostringstream o;
  if (patterns.size() == 0)
    o << "no ignore patterns (write them in .cascadeignore)\n";
  for (auto p : patterns)
    o << str(p.getSource()) << ":" << p.getLine() << "  " << str(p.getText()) << "\n";
  for (auto w : warnings)
    o << "warning: " << str(w) << "\n";
  return o.str();
}

void json_ignores(json& j, capnp::List<cw::IgnorePattern>::Reader patterns,
                  capnp::List<capnp::Text>::Reader warnings) {
  j.begin_object().key("patterns").begin_array();
  for (auto p : patterns)
    j.begin_object()
        .field("source", str(p.getSource()))
        .field("line", p.getLine())
        .field("pattern", str(p.getText()))
        .end_object();
  j.end_array().key("warnings").begin_array();
  for (auto w : warnings)
    j.value(str(w));
  j.end_array().end_object();
}

std::string text_ignored(capnp::List<capnp::Text>::Reader paths, bool truncated) {
  if (paths.size() == 0)
    return "nothing on disk is ignored\n";
  std::ostringstream o;
  for (auto p : paths)
    o << str(p) << "\n";
  if (truncated)
    o << "(more not shown: give a GLOB)\n";
  return o.str();
}

void json_ignored(json& j, capnp::List<capnp::Text>::Reader paths, bool truncated) {
  j.begin_object().key("ignored").begin_array();
  for (auto p : paths)
    j.value(str(p));
  j.end_array().key("truncated").value(truncated).end_object();
}

std::string text_mode_paths(capnp::List<capnp::Text>::Reader paths,
                            capnp::List<capnp::Text>::Reader changes, bool truncated,
                            const char* none) {
  if (paths.size() == 0)
    return std::string(none) + "\n";
  std::ostringstream o;
  for (unsigned k = 0; k < paths.size(); ++k)
    o << std::left << std::setw(9) << (k < changes.size() ? str(changes[k]) : std::string()) << " "
      << str(paths[k]) << "\n";
  if (truncated)
    o << "(more not shown: give a GLOB)\n";
  return o.str();
}

void json_mode_paths(json& j, capnp::List<capnp::Text>::Reader paths,
                     capnp::List<capnp::Text>::Reader changes, bool truncated) {
  j.begin_object().key("paths").begin_array();
  for (unsigned k = 0; k < paths.size(); ++k)
    j.begin_object()
        .field("path", str(paths[k]))
        .field("change", k < changes.size() ? str(changes[k]) : std::string())
        .end_object();
  j.end_array().key("truncated").value(truncated).end_object();
}

} // namespace cascade::app
