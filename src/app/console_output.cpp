// How `node console` shows status, peers, actors and transfers, in text and in JSON (files and
// conflicts: console_output_files.cpp; the writer and units: console_format.cpp).
#include <algorithm>
#include <chrono>
#include <sstream>

#include "app/console_format.hpp"
#include "app/console_output.hpp"

namespace cascade::app {

using namespace render;

namespace {

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

// --- status ---

std::string text_status(cw::Status::Reader s) {
  std::ostringstream o;
  o << "device   " << str(s.getDeviceId()) << "\n";
  o << "group    " << str(s.getGroup()) << "\n";
  o << "folder   " << str(s.getFolder()) << "  (state " << str(s.getStateDir()) << ")\n";
  auto mode = str(s.getMode());
  o << "mode     " << mode
    << (mode == "send-only"      ? ": peers' changes are not applied (`out-of-sync`, `override`)"
        : mode == "receive-only" ? ": local changes are not sent (`local-changes`, `revert`)"
                                 : "")
    << "\n";
  o << "files    " << s.getFiles() << " files, " << s.getDirs() << " directories, "
    << human_bytes(static_cast<double>(s.getBytes())) << " (" << s.getBytes() << " bytes); "
    << s.getDeleted() << " deletion records; sequence " << s.getSequence() << "\n";
  if (s.getHalted())
    o << "sync     HALTED: the folder or its marker is gone (see the log)\n";
  else if (s.getPaused())
    o << "sync     PAUSED: local changes are recorded; nothing is sent or applied until "
         "`resume`\n";
  else if (s.getInSync())
    o << "sync     in sync\n";
  else
    o << "sync     pending: " << pending_text(s) << "\n";
  o << "peers    " << s.getPeersConnected() << " connected\n";
  o << "latency  " << latency_text(s.getLatency()) << "\n";
  o << "uptime   " << human_duration_ns(s.getUptimeNs()) << "\n";
  o << "log      " << str(s.getLogLevel()) << "\n";
  o << "faults   " << (s.getFaults().size() ? "" : "none\n") << text_faults(s.getFaults(), "  ");
  return o.str();
}

std::string text_faults(capnp::List<cw::Fault>::Reader faults, const char* indent) {
  std::ostringstream o;
  auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  bool first = true;
  for (auto f : faults) {
    o << (first && indent[0] ? "" : indent) << str(f.getName());
    if (f.getSinceNs() > 0)
      o << " (for " << human_duration_ns(std::max<std::int64_t>(now - f.getSinceNs(), 0)) << ")";
    o << ": " << str(f.getMessage()) << "\n";
    first = false;
  }
  return o.str();
}

void json_faults(json& j, capnp::List<cw::Fault>::Reader faults) {
  j.begin_array();
  for (auto f : faults)
    j.begin_object()
        .field("name", str(f.getName()))
        .field("message", str(f.getMessage()))
        .field("since_ns", f.getSinceNs())
        .field("count", f.getCount())
        .end_object();
  j.end_array();
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
      .field("paused", s.getPaused())
      .field("mode", str(s.getMode()))
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
  j.key("faults");
  json_faults(j, s.getFaults());
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

} // namespace cascade::app
