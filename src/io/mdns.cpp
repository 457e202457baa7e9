#include "io/mdns.hpp"

#include <avahi-client/client.h>
#include <avahi-client/lookup.h>
#include <avahi-client/publish.h>
#include <avahi-common/alternative.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <avahi-common/thread-watch.h>
#include <avahi-common/timeval.h>

#include <algorithm>
#include <deque>

namespace cascade::io {

struct mdns::impl {
  // avahi-daemon refuses a client more than 1024 objects (objects-per-client-max), and a
  // service whose resolver was refused is lost until it is announced again: so at most 32
  // resolvers run at once and the rest wait here (a flood of services resolves in turn; the
  // daemon answers from its cache within milliseconds). Beyond 4096 waiting, new services are
  // dropped and counted: the discovery actor tracks at most 256 anyway.
  static constexpr int max_resolving = 32;
  static constexpr std::size_t max_waiting = 4096;
  struct pending_resolve {
    AvahiIfIndex iface;
    AvahiProtocol proto;
    std::string name, type, domain;
  };
  std::deque<pending_resolve> waiting;
  int resolving = 0;
  std::uint64_t dropped = 0;

  std::string type, name;
  std::uint16_t port;
  std::vector<std::string> txt;
  mdns_callbacks cb;
  AvahiThreadedPoll* poll = nullptr;
  AvahiClient* client = nullptr;
  AvahiEntryGroup* group = nullptr;
  AvahiServiceBrowser* browser = nullptr;
  bool warned_absent = false;

  void log(int level, const std::string& s) {
    if (cb.log)
      cb.log(level, s);
  }

  // Without a system bus even AVAHI_CLIENT_NO_FAIL fails: then try again every 2 s, so the
  // node picks Avahi up when the daemon (and its bus) appear later.
  void make_client() {
    int err = 0;
    client = avahi_client_new(avahi_threaded_poll_get(poll), AVAHI_CLIENT_NO_FAIL, &impl::on_client,
                              this, &err);
    if (client)
      return;
    warn_absent(std::string(avahi_strerror(err)));
    struct timeval tv;
    auto* api = avahi_threaded_poll_get(poll);
    api->timeout_new(api, avahi_elapse_time(&tv, 2000, 0), &impl::on_retry, this);
  }

  static void on_rebuild(AvahiTimeout* t, void* data) {
    auto* self = static_cast<impl*>(data);
    avahi_threaded_poll_get(self->poll)->timeout_free(t);
    self->forget_objects();
    if (self->client)
      avahi_client_free(self->client);
    self->client = nullptr;
    self->warned_absent = false;
    self->make_client();
  }

  static void on_retry(AvahiTimeout* t, void* data) {
    auto* self = static_cast<impl*>(data);
    avahi_threaded_poll_get(self->poll)->timeout_free(t);
    self->make_client();
  }

  void warn_absent(const std::string& why) {
    if (warned_absent)
      return;
    warned_absent = true;
    log(3, "mDNS: no avahi-daemon is running (" + why +
               "); discovery waits for it, static --peer addresses still work");
  }

  void publish() {
    if (!group)
      group = avahi_entry_group_new(client, &impl::on_group, this);
    if (!group)
      return;
    if (!avahi_entry_group_is_empty(group))
      return;
    AvahiStringList* list = nullptr;
    for (auto& t : txt)
      list = avahi_string_list_add(list, t.c_str());
    int r = avahi_entry_group_add_service_strlst(group, AVAHI_IF_UNSPEC, AVAHI_PROTO_INET,
                                                 AvahiPublishFlags(0), name.c_str(), type.c_str(),
                                                 nullptr, nullptr, port, list);
    avahi_string_list_free(list);
    if (r == AVAHI_ERR_COLLISION) {
      rename();
      return;
    }
    if (r < 0 || avahi_entry_group_commit(group) < 0)
      log(3, std::string("mDNS: cannot publish: ") + avahi_strerror(avahi_client_errno(client)));
  }

  void rename() {
    char* alt = avahi_alternative_service_name(name.c_str());
    log(2, "mDNS: service name " + name + " is taken; now " + alt);
    name = alt;
    avahi_free(alt);
    if (group)
      avahi_entry_group_reset(group);
    publish();
  }

  void browse() {
    if (browser)
      return;
    browser = avahi_service_browser_new(client, AVAHI_IF_UNSPEC, AVAHI_PROTO_INET, type.c_str(),
                                        nullptr, AvahiLookupFlags(0), &impl::on_browse, this);
    if (!browser)
      log(3, std::string("mDNS: cannot browse: ") + avahi_strerror(avahi_client_errno(client)));
  }

  void forget_objects() {
    // Freeing the client frees its groups, browsers and resolvers.
    group = nullptr;
    browser = nullptr;
    waiting.clear();
    resolving = 0;
  }

  static void on_client(AvahiClient* c, AvahiClientState state, void* data) {
    auto* self = static_cast<impl*>(data);
    self->client = c; // the callback may run before avahi_client_new returns
    switch (state) {
    case AVAHI_CLIENT_S_RUNNING:
      self->log(2, "mDNS: connected to avahi-daemon; publishing " + self->name);
      self->warned_absent = false;
      self->publish();
      self->browse();
      break;
    case AVAHI_CLIENT_S_COLLISION:
    case AVAHI_CLIENT_S_REGISTERING:
      if (self->group)
        avahi_entry_group_reset(self->group);
      break;
    case AVAHI_CLIENT_CONNECTING:
      self->warn_absent("daemon not running");
      break;
    case AVAHI_CLIENT_FAILURE:
      if (avahi_client_errno(c) == AVAHI_ERR_DISCONNECTED) {
        self->log(3, "mDNS: avahi-daemon went away; waiting for it to return");
        // Not freed inside its own callback: rebuilt from a timeout of the poll loop.
        struct timeval tv;
        auto* api = avahi_threaded_poll_get(self->poll);
        api->timeout_new(api, avahi_elapse_time(&tv, 500, 0), &impl::on_rebuild, self);
      } else {
        self->log(3, std::string("mDNS failed: ") + avahi_strerror(avahi_client_errno(c)));
      }
      break;
    }
  }

  static void on_group(AvahiEntryGroup* g, AvahiEntryGroupState state, void* data) {
    auto* self = static_cast<impl*>(data);
    self->group = g;
    if (state == AVAHI_ENTRY_GROUP_COLLISION)
      self->rename();
    else if (state == AVAHI_ENTRY_GROUP_FAILURE)
      self->log(3, std::string("mDNS: publishing failed: ") +
                       avahi_strerror(avahi_client_errno(avahi_entry_group_get_client(g))));
  }

  static void on_browse(AvahiServiceBrowser*, AvahiIfIndex iface, AvahiProtocol proto,
                        AvahiBrowserEvent event, const char* name, const char* type,
                        const char* domain, AvahiLookupResultFlags, void* data) {
    auto* self = static_cast<impl*>(data);
    if (event == AVAHI_BROWSER_NEW) {
      if (self->waiting.size() >= max_waiting) {
        if (self->dropped++ == 0)
          self->log(3, "mDNS: more than " + std::to_string(max_waiting) +
                           " services wait to be resolved; dropping new ones");
        return;
      }
      self->waiting.push_back({iface, proto, name, type, domain});
      self->resolve_more();
    } else if (event == AVAHI_BROWSER_REMOVE) {
      auto& w = self->waiting;
      w.erase(std::remove_if(w.begin(), w.end(),
                             [&](const pending_resolve& p) {
                               return p.name == name && p.iface == iface && p.proto == proto;
                             }),
              w.end());
      if (self->cb.removed)
        self->cb.removed(name);
    }
  }

  void resolve_more() {
    while (resolving < max_resolving && !waiting.empty()) {
      auto p = std::move(waiting.front());
      waiting.pop_front();
      if (avahi_service_resolver_new(client, p.iface, p.proto, p.name.c_str(), p.type.c_str(),
                                     p.domain.c_str(), AVAHI_PROTO_INET, AvahiLookupFlags(0),
                                     &impl::on_resolve, this))
        ++resolving;
      else
        log(1, "mDNS: cannot resolve " + p.name);
    }
  }

  static void on_resolve(AvahiServiceResolver* r, AvahiIfIndex, AvahiProtocol,
                         AvahiResolverEvent event, const char* name, const char*, const char*,
                         const char*, const AvahiAddress* a, uint16_t port, AvahiStringList* txt,
                         AvahiLookupResultFlags, void* data) {
    auto* self = static_cast<impl*>(data);
    if (event == AVAHI_RESOLVER_FOUND && a && a->proto == AVAHI_PROTO_INET && self->cb.found) {
      mdns_service s;
      s.name = name;
      char buf[AVAHI_ADDRESS_STR_MAX];
      avahi_address_snprint(buf, sizeof buf, a);
      s.address = buf;
      s.port = port;
      for (auto* t = txt; t; t = avahi_string_list_get_next(t)) {
        std::string entry(reinterpret_cast<const char*>(avahi_string_list_get_text(t)),
                          avahi_string_list_get_size(t));
        auto eq = entry.find('=');
        if (eq != std::string::npos)
          s.txt[entry.substr(0, eq)] = entry.substr(eq + 1);
      }
      self->cb.found(s);
    }
    avahi_service_resolver_free(r);
    if (event == AVAHI_RESOLVER_FOUND || event == AVAHI_RESOLVER_FAILURE) {
      --self->resolving;
      self->resolve_more();
    }
  }
};

mdns::mdns(std::string type, std::string name, std::uint16_t port, std::vector<std::string> txt,
           mdns_callbacks cb)
    : impl_(std::make_unique<impl>()) {
  impl_->type = std::move(type);
  impl_->name = std::move(name);
  impl_->port = port;
  impl_->txt = std::move(txt);
  impl_->cb = std::move(cb);
}

mdns::~mdns() {
  if (impl_->poll) {
    avahi_threaded_poll_stop(impl_->poll);
    if (impl_->client)
      avahi_client_free(impl_->client); // withdraws our service
    avahi_threaded_poll_free(impl_->poll);
  }
}

bool mdns::start() {
  impl_->poll = avahi_threaded_poll_new();
  if (!impl_->poll) {
    impl_->log(3, "mDNS disabled: cannot create Avahi's poll");
    return false;
  }
  avahi_threaded_poll_lock(impl_->poll);
  impl_->make_client();
  avahi_threaded_poll_unlock(impl_->poll);
  return avahi_threaded_poll_start(impl_->poll) == 0;
}

} // namespace cascade::io
