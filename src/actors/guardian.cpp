// The node's guardian: monitors every long-lived actor (watcher, scanner, index, supervisor,
// discovery, console). One that ends while the node is not stopping, for whatever reason (an
// unhandled exception, an error exit, even a plain quit), leaves a node that looks alive and
// syncs nothing; the guardian turns that into one clear line and a stop with exit 1 (a service
// manager restarts it, and the index reloads its state from index.db).
#include <map>

#include "actors/actors.hpp"

namespace cascade::actors {

namespace {

struct guardian_state {
  std::map<caf::actor_addr, std::string> names;
  static inline const char* name = "guardian";
};

caf::behavior guardian(caf::stateful_actor<guardian_state>* self,
                       std::vector<std::pair<std::string, status_actor>> watched,
                       std::shared_ptr<guard_hooks> hooks) {
  for (auto& [name, a] : watched) {
    if (!a)
      continue;
    self->monitor(a);
    self->state.names[a.address()] = name;
  }
  self->set_down_handler([self, hooks](caf::down_msg& dm) {
    auto it = self->state.names.find(dm.source);
    std::string name = it == self->state.names.end() ? "an" : it->second;
    if (hooks->stopping())
      return;
    std::string why = dm.reason ? self->system().render(dm.reason) : "it quit";
    hooks->failed("the " + name + " actor stopped unexpectedly (" + why + ")");
  });
  return {[](caf::unit_t) {}};
}

} // namespace

caf::actor spawn_guardian(caf::actor_system& sys,
                          std::vector<std::pair<std::string, status_actor>> watched,
                          std::shared_ptr<guard_hooks> hooks) {
  return sys.spawn(guardian, std::move(watched), std::move(hooks));
}

} // namespace cascade::actors
