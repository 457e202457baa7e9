// The scanner: hashes files on a thread of its own, so the index stays responsive.
#include "actors/actors.hpp"

namespace cascade::actors {

namespace {

struct scanner_state {
  static inline const char* name = "scanner";
  std::uint64_t files_hashed = 0;
};

scanner_actor::behavior_type scanner(scanner_actor::stateful_pointer<scanner_state> self,
                                     const node_context* ctx) {
  return {
      [self, ctx](hash_atom, const std::string& path) {
        ++self->state.files_hashed;
        return std::make_tuple(hashed_atom::value, path, io::hash_file(*ctx->folder, path));
      },
      [self](status_atom) {
        auto n = self->state.files_hashed;
        auto s = core::status_of("scanner", "scanner", self->mailbox().size());
        s.state = "hashed " + std::to_string(n) + " files, " +
                  std::to_string(self->mailbox().size()) + " waiting";
        s.counters = {{"hashed", n}};
        return s;
      },
  };
}

} // namespace

scanner_actor spawn_scanner(caf::actor_system& sys, const node_context& ctx) {
  return spawn_io(sys, ctx, scanner, &ctx);
}

} // namespace cascade::actors
