// Attacks through fetches, as a hostile downstream: paths out of the folder or into its
// state, too many ranges in one fetch, and more stalled fetches than a peer may hold.
#include "hostile_peer.hpp"

namespace hostile {

namespace {

// Sink that keeps what it receives; `stall` holds every write forever.
class keep_sink final : public wire::ChunkSink::Server {
public:
  keep_sink(std::string& into, std::string& error, bool& finished, bool stall)
      : into_(into), error_(error), finished_(finished), stall_(stall) {}
  kj::Promise<void> write(WriteContext ctx) override {
    for (auto p : ctx.getParams().getPieces())
      into_.append(reinterpret_cast<const char*>(p.getData().begin()), p.getData().size());
    if (stall_)
      return kj::NEVER_DONE;
    return kj::READY_NOW;
  }
  kj::Promise<void> done(DoneContext ctx) override {
    error_ = ctx.getParams().getError().cStr();
    finished_ = true;
    return kj::READY_NOW;
  }

private:
  std::string& into_;
  std::string& error_;
  bool& finished_;
  bool stall_;
};

} // namespace

int attack_bad_fetch(ctx& c) {
  auto s = connect_with_key(c, c.o.key);
  s->wait_subscribed(5);
  std::vector<std::string> paths = {"../outside/secret.txt",
                                    "../../outside/secret.txt",
                                    c.o.dir + "/secret.txt",
                                    "/etc/passwd",
                                    "outlink/secret.txt",
                                    "outlink",
                                    "hardlinked-dir/../secret.txt",
                                    ".cascade/identity",
                                    ".cascade/group.key",
                                    ".cascade/index.db",
                                    ".cascade",
                                    "",
                                    std::string("good.txt\0/../../outside/secret.txt", 34)};
  int leaks = 0;
  for (auto& p : paths) {
    std::string got, err;
    bool finished = false;
    auto req = s->peer().fetchRequest();
    req.setPath(capnp::Text::Reader(p.data(), p.size()));
    auto rl = req.initRanges(1);
    rl[0].setOffset(0);
    rl[0].setLength(4096);
    req.setSink(kj::heap<keep_sink>(got, err, finished, false));
    std::string outcome;
    try {
      s->wait(req.send().ignoreResult(), 10, "fetch");
      s->sleep(0.05);
      outcome = finished ? "done(" + err + ")" : "returned";
    } catch (kj::Exception& e) {
      outcome = std::string("refused (") + e.getDescription().cStr() + ")";
    }
    bool leak = !c.o.marker.empty() && got.find(c.o.marker) != std::string::npos;
    if (leak)
      ++leaks;
    std::string shown;
    for (char ch : p)
      shown += (ch >= 0x20 && ch < 0x7f) ? std::string(1, ch) : "\\x" + std::to_string(int(ch));
    say("fetch '" + shown + "': " + outcome + ", " + std::to_string(got.size()) + " bytes" +
        (leak ? " CONTAINING THE MARKER" : ""));
  }
  result("path fetches: " + std::to_string(paths.size()) + ", leaks " + std::to_string(leaks));
  // Too many ranges in one fetch: the node must drop us.
  {
    auto req = s->peer().fetchRequest();
    req.setPath(c.o.path.empty() ? "big.bin" : c.o.path);
    auto rl = req.initRanges(65537);
    for (unsigned i = 0; i < rl.size(); ++i) {
      rl[i].setOffset(0);
      rl[i].setLength(1);
    }
    std::string got, err;
    bool finished = false;
    req.setSink(kj::heap<keep_sink>(got, err, finished, false));
    std::string outcome;
    try {
      s->wait(req.send().ignoreResult(), 10, "fetch");
      outcome = "served";
    } catch (kj::Exception& e) {
      outcome = std::string("refused (") + e.getDescription().cStr() + ")";
    }
    bool dropped = s->wait_disconnected(3);
    result("65537 ranges: " + outcome + "; " + (dropped ? "disconnected" : "NOT disconnected"));
  }
  // 17 fetches at once whose sinks never take a write: the 17th breaks the limit.
  {
    auto s2 = connect_with_key(c, c.o.key);
    s2->wait_subscribed(5);
    std::vector<std::string> got(20), err(20);
    std::vector<char> fin(20, 0);
    std::vector<kj::Promise<void>> calls;
    int failed = 0;
    for (int i = 0; i < 17; ++i) {
      auto req = s2->peer().fetchRequest();
      req.setPath(c.o.path.empty() ? "big.bin" : c.o.path);
      auto rl = req.initRanges(1);
      rl[0].setOffset(0);
      rl[0].setLength(4u << 20);
      req.setSink(kj::heap<keep_sink>(got[i], err[i], reinterpret_cast<bool&>(fin[i]), true));
      calls.push_back(req.send().ignoreResult().catch_([&failed](kj::Exception&&) { ++failed; }));
      s2->sleep(0.05);
    }
    bool dropped = s2->wait_disconnected(5);
    result("17 stalled fetches: " + std::string(dropped ? "disconnected" : "NOT disconnected"));
  }
  return 0;
}

} // namespace hostile
