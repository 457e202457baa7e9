// mDNS/DNS-SD through the system's avahi-daemon (avahi-client), on Avahi's own threaded poll.
// Publishes one service and browses for others of the same type. Callbacks run on Avahi's
// thread and must only post messages. Without a running daemon it waits for one to appear
// (AVAHI_CLIENT_NO_FAIL) and reconnects when the daemon restarts.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace cascade::io {

struct mdns_service {
  std::string name;
  std::string address; // IPv4, dotted
  std::uint16_t port = 0;
  std::map<std::string, std::string> txt;
};

struct mdns_callbacks {
  std::function<void(const mdns_service&)> found;  // resolved (again) on some interface
  std::function<void(const std::string&)> removed; // the service went away on an interface
  std::function<void(int level, const std::string&)> log;
};

class mdns {
public:
  // `txt` entries are "key=value".
  mdns(std::string type, std::string name, std::uint16_t port, std::vector<std::string> txt,
       mdns_callbacks cb);
  ~mdns();
  mdns(const mdns&) = delete;
  mdns& operator=(const mdns&) = delete;

  // Starts Avahi's thread; false (and a log line) only if no poll could be made at all.
  bool start();

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace cascade::io
