#include "app/console_output.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <sstream>

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

namespace {

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

std::string octal(std::uint32_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04o", mode);
  return buf;
}

std::string latency_text(cw::Latency::Reader l) {
  if (l.getCount() == 0)
    return "no changes received yet";
  return "p50 " + human_duration_ns(l.getP50Ns()) + ", p95 " + human_duration_ns(l.getP95Ns()) +
         ", p99 " + human_duration_ns(l.getP99Ns()) + ", max " + human_duration_ns(l.getMaxNs()) +
         " (" + std::to_string(l.getCount()) + " changes)";
}

void latency_json(json& j, cw::Latency::Reader l) {
  j.begin_object()
      .field("count", l.getCount())
      .field("p50_ms", ms(l.getP50Ns()))
      .field("p95_ms", ms(l.getP95Ns()))
      .field("p99_ms", ms(l.getP99Ns()))
      .field("max_ms", ms(l.getMaxNs()))
      .end_object();
}

void text_or_null(json& j, capnp::Text::Reader t) {
  if (t.size() == 0)
    j.null();
  else
    j.value(str(t));
}

std::string pending_text(cw::Status::Reader s) {
  std::vector<std::string> parts;
  if (s.getNeededFiles())
    parts.push_back(std::to_string(s.getNeededFiles()) + " files (" +
                    human_bytes(static_cast<double>(s.getNeededBytes())) + ") to receive");
  if (s.getTransfers())
    parts.push_back(std::to_string(s.getTransfers()) + " transfers running");
  if (s.getWaiting())
    parts.push_back(std::to_string(s.getWaiting()) + " waiting for a source");
  if (s.getHashing())
    parts.push_back(std::to_string(s.getHashing()) + " files being hashed");
  if (s.getDeletesHeld())
    parts.push_back(std::to_string(s.getDeletesHeld()) + " deletions held");
  if (s.getWatcherPending())
    parts.push_back(std::to_string(s.getWatcherPending()) + " changes queued by the watcher");
  if (s.getPeersBehind())
    parts.push_back(std::to_string(s.getPeersBehind()) + " peers not sent everything yet");
  std::string out;
  for (auto& p : parts)
    out += (out.empty() ? "" : ", ") + p;
  return out.empty() ? "answers missing (an actor is busy)" : out;
}

} // namespace

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

// --- status ---

std::string text_status(cw::Status::Reader s) {
  std::ostringstream o;
  o << "device   " << str(s.getDeviceId()) << "\n";
  o << "group    " << str(s.getGroup()) << "\n";
  o << "folder   " << str(s.getFolder()) << "  (state " << str(s.getStateDir()) << ")\n";
  o << "files    " << s.getFiles() << " files, " << s.getDirs() << " directories, "
    << human_bytes(static_cast<double>(s.getBytes())) << " (" << s.getBytes() << " bytes); "
    << s.getDeleted() << " deletion records; sequence " << s.getSequence() << "\n";
  if (s.getHalted())
    o << "sync     HALTED: the folder or its marker is gone (see the log)\n";
  else if (s.getInSync())
    o << "sync     in sync\n";
  else
    o << "sync     pending: " << pending_text(s) << "\n";
  o << "peers    " << s.getPeersConnected() << " connected\n";
  o << "latency  " << latency_text(s.getLatency()) << "\n";
  o << "uptime   " << human_duration_ns(s.getUptimeNs()) << "\n";
  o << "log      " << str(s.getLogLevel()) << "\n";
  return o.str();
}

void json_status(json& j, cw::Status::Reader s) {
  j.begin_object()
      .field("device_id", str(s.getDeviceId()))
      .field("group", str(s.getGroup()))
      .field("folder", str(s.getFolder()))
      .field("state_dir", str(s.getStateDir()))
      .field("files", s.getFiles())
      .field("dirs", s.getDirs())
      .field("bytes", s.getBytes())
      .field("deleted", s.getDeleted())
      .field("sequence", s.getSequence())
      .field("in_sync", s.getInSync())
      .field("halted", s.getHalted())
      .key("pending")
      .begin_object()
      .field("needed_files", s.getNeededFiles())
      .field("needed_bytes", s.getNeededBytes())
      .field("transfers", s.getTransfers())
      .field("waiting", s.getWaiting())
      .field("hashing", s.getHashing())
      .field("deletes_held", s.getDeletesHeld())
      .field("watcher_queue", s.getWatcherPending())
      .field("peers_behind", s.getPeersBehind())
      .end_object()
      .field("peers_connected", s.getPeersConnected())
      .field("uptime_s", static_cast<double>(s.getUptimeNs()) / 1e9)
      .field("log_level", str(s.getLogLevel()))
      .key("latency");
  latency_json(j, s.getLatency());
  j.end_object();
}

// --- peers ---

std::string text_peers(capnp::List<cw::Peer>::Reader peers) {
  if (peers.size() == 0)
    return "no peers (none connected, dialed or seen since the node started)\n";
  std::ostringstream o;
  for (auto p : peers) {
    auto id = p.getDeviceId().size() ? str(p.getDeviceId()) : std::string("(device not known yet)");
    o << id << "  " << str(p.getState());
    if (p.getAddress().size())
      o << " " << (p.getState() == "connected" ? (p.getOutbound() ? "to " : "from ") : "")
        << str(p.getAddress());
    if (p.getFound().size())
      o << "  (" << str(p.getFound()) << ")";
    o << "\n";
    if (p.getState() == "connected") {
      o << "    rtt " << (p.getRttNs() < 0 ? std::string("-") : human_duration_ns(p.getRttNs()))
        << "   in " << human_bytes(static_cast<double>(p.getBytesIn())) << " ("
        << human_bytes(p.getRateIn()) << "/s)   out "
        << human_bytes(static_cast<double>(p.getBytesOut())) << " (" << human_bytes(p.getRateOut())
        << "/s)   up " << human_duration_ns(p.getConnectedNs()) << "\n";
    }
    if (p.getHasLatency())
      o << "    latency " << latency_text(p.getLatency()) << "\n";
    if (p.getLastError().size())
      o << "    last error: " << str(p.getLastError()) << "\n";
  }
  return o.str();
}

void json_peers(json& j, capnp::List<cw::Peer>::Reader peers) {
  j.begin_array();
  for (auto p : peers) {
    bool up = p.getState() == "connected";
    j.begin_object().key("device_id");
    text_or_null(j, p.getDeviceId());
    j.field("address", str(p.getAddress()))
        .field("found", str(p.getFound()))
        .field("state", str(p.getState()))
        .key("direction");
    if (up)
      j.value(p.getOutbound() ? "outbound" : "inbound");
    else
      j.null();
    j.key("session");
    if (up)
      j.value(p.getSession());
    else
      j.null();
    j.key("rtt_ms");
    if (p.getRttNs() >= 0)
      j.value(ms(p.getRttNs()));
    else
      j.null();
    j.field("bytes_in", p.getBytesIn())
        .field("bytes_out", p.getBytesOut())
        .field("rate_in", p.getRateIn())
        .field("rate_out", p.getRateOut())
        .field("connected_s", static_cast<double>(p.getConnectedNs()) / 1e9)
        .key("last_error");
    text_or_null(j, p.getLastError());
    j.key("latency");
    if (p.getHasLatency())
      latency_json(j, p.getLatency());
    else
      j.null();
    j.end_object();
  }
  j.end_array();
}

// --- actors and transfers ---

std::string text_actors(capnp::List<cw::Actor>::Reader actors) {
  std::size_t kw = 4, nw = 4;
  for (auto a : actors) {
    kw = std::max<std::size_t>(kw, a.getKind().size());
    nw = std::max<std::size_t>(nw, std::min<std::size_t>(a.getName().size(), 40));
  }
  std::ostringstream o;
  auto pad = [](std::string s, std::size_t w) {
    if (s.size() > w)
      s = s.substr(0, w - 3) + "...";
    return s + std::string(w - s.size() + 2, ' ');
  };
  o << pad("KIND", kw) << pad("NAME", nw) << pad("MAILBOX", 7) << "STATE\n";
  for (auto a : actors)
    o << pad(str(a.getKind()), kw) << pad(str(a.getName()), nw)
      << pad(a.getAnswered() ? std::to_string(a.getMailbox()) : "?", 7) << str(a.getState())
      << "\n";
  return o.str();
}

namespace {
void transfer_json(json& j, cw::Transfer::Reader t) {
  auto done = t.getFetched() + t.getCopied();
  auto size = t.getSize();
  j.begin_object()
      .field("path", str(t.getPath()))
      .field("size", size)
      .field("done", done)
      .field("fetched", t.getFetched())
      .field("copied", t.getCopied())
      .field("progress", size ? static_cast<double>(done) / static_cast<double>(size) : 1.0)
      .field("rate", t.getRate())
      .key("eta_s");
  if (t.getRate() > 0 && size >= done)
    j.value(static_cast<double>(size - done) / t.getRate());
  else
    j.null();
  j.key("upstream");
  text_or_null(j, t.getUpstream());
  j.key("downstreams").begin_array();
  for (auto d : t.getDownstreams())
    j.value(str(d));
  j.end_array().key("started_ns").value(t.getStartedNs()).end_object();
}
} // namespace

void json_actors(json& j, capnp::List<cw::Actor>::Reader actors) {
  j.begin_array();
  for (auto a : actors) {
    j.begin_object()
        .field("kind", str(a.getKind()))
        .field("name", str(a.getName()))
        .field("state", str(a.getState()))
        .field("mailbox", a.getMailbox())
        .field("answered", a.getAnswered())
        .key("counters")
        .begin_object();
    for (auto c : a.getCounters())
      j.key(str(c.getKey())).value(c.getValue());
    j.end_object().key("transfer");
    if (a.getIsTransfer())
      transfer_json(j, a.getTransfer());
    else
      j.null();
    j.end_object();
  }
  j.end_array();
}

std::string text_transfers(capnp::List<cw::Transfer>::Reader transfers) {
  if (transfers.size() == 0)
    return "no transfers in flight\n";
  std::ostringstream o;
  for (auto t : transfers) {
    auto done = t.getFetched() + t.getCopied();
    double f = t.getSize() ? static_cast<double>(done) / static_cast<double>(t.getSize()) : 1;
    o << str(t.getPath()) << "  " << human_bytes(static_cast<double>(t.getSize())) << "\n    "
      << progress_bar(f, 30) << " " << fmt("%5.1f%%", f * 100) << "  " << human_bytes(t.getRate())
      << "/s  ETA "
      << (t.getRate() > 0 ? human_duration_ns(static_cast<std::int64_t>(
                                static_cast<double>(t.getSize() - done) / t.getRate() * 1e9))
                          : std::string("-"))
      << "\n    from "
      << (t.getUpstream().size() ? str(t.getUpstream()) : std::string("this node"));
    if (t.getDownstreams().size()) {
      o << "  relayed to";
      for (auto d : t.getDownstreams())
        o << " " << str(d);
    }
    o << "\n";
  }
  return o.str();
}

void json_transfers(json& j, capnp::List<cw::Transfer>::Reader transfers) {
  j.begin_array();
  for (auto t : transfers)
    transfer_json(j, t);
  j.end_array();
}

// --- files ---

namespace {

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

} // namespace cascade::app
