// Two rpc::network objects in one test thread, joined by kj::newTwoWayPipe: the real session
// code of src/rpc (TLS, hello, the Peer service, chunk sinks, the queue from other threads), on
// an event loop the test steps, with listeners that record every callback. `a` dials, `b`
// accepts; each serves fetches from a folder of its own in a temporary directory.
#pragma once

#include <kj/async-io.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/folder.hpp"
#include "rpc/network.hpp"
#include "rpc/network_impl.hpp"

namespace peers {

using namespace cascade;

// Every listener callback, in order; the test answers through the network, as the actors do.
struct recorder final : rpc::listener {
  struct update {
    rpc::session_id session;
    rpc::call_id call;
    std::vector<rpc::wire_entry> entries;
    std::uint64_t from, last;
  };
  struct offer {
    rpc::session_id session;
    rpc::call_id call;
    rpc::wire_entry entry;
    std::vector<core::device_id> rest, visited;
  };
  struct have {
    rpc::session_id session;
    rpc::call_id call;
    std::string path;
    core::version_vector version;
  };
  struct subscribe {
    std::uint64_t epoch, from;
  };
  std::vector<rpc::session_info> up;
  std::vector<subscribe> subscribes;
  std::vector<std::string> down; // reasons
  std::vector<update> updates;
  std::vector<offer> offers;
  std::vector<have> haves;
  std::vector<std::string> logs;

  void on_session_up(const rpc::session_info& s) override { up.push_back(s); }
  void on_session_down(rpc::session_id, const std::string& reason) override {
    down.push_back(reason);
  }
  void on_subscribe(rpc::session_id, std::uint64_t epoch, std::uint64_t from) override {
    subscribes.push_back({epoch, from});
  }
  void on_update(rpc::session_id s, rpc::call_id call, std::vector<rpc::wire_entry> entries,
                 std::uint64_t from, std::uint64_t last) override {
    updates.push_back({s, call, std::move(entries), from, last});
  }
  void on_log(int, const std::string& line) override { logs.push_back(line); }
  void on_offer(rpc::session_id s, rpc::call_id call, rpc::wire_entry entry,
                std::vector<core::device_id> rest, std::vector<core::device_id> visited) override {
    offers.push_back({s, call, std::move(entry), std::move(rest), std::move(visited)});
  }
  void on_have(rpc::session_id s, rpc::call_id call, std::string path,
               core::version_vector v) override {
    haves.push_back({s, call, std::move(path), std::move(v)});
  }
  // How many log lines contain `text`.
  std::size_t logged(const std::string& text) const;
};

// Collects a fetch's or an accepted offer's frames; consumes nothing by itself.
struct collector final : rpc::chunk_receiver {
  std::size_t frames = 0;
  std::uint64_t total = 0; // bytes ever handed over
  std::vector<rpc::piece> pieces;
  std::optional<std::string> done;
  void on_pieces(std::vector<rpc::piece> p) override {
    ++frames;
    for (auto& x : p) {
      total += x.data.size();
      pieces.push_back(std::move(x));
    }
  }
  void on_done(const std::string& error) override { done = error; }
  std::uint64_t bytes() const;
  // The received bytes placed at their offsets in a string of `size` bytes.
  std::string assemble(std::size_t size) const;
  // Places the pieces held at their offsets in `out`, then lets them go.
  void move_into(std::string& out);
};

struct push_recorder final : rpc::push_observer {
  std::optional<bool> answer;
  std::size_t sent = 0;
  std::optional<std::string> failed;
  void on_answer(bool accepted) override { answer = accepted; }
  void on_sent(std::size_t frames) override { sent += frames; }
  void on_failed(const std::string& error) override { failed = error; }
};

struct options {
  std::size_t sink_credit = 8;
  std::string group_a = "cas1-test-group", group_b = "cas1-test-group";
};

struct peer {
  std::string dir;
  std::unique_ptr<io::folder> folder;
  recorder events;
  std::unique_ptr<rpc::network> net;
  core::device_id id{};
  rpc::session_id session = 0; // this side's id of the session, once up

  peer(const options& o, const std::string& group);
  ~peer();
  rpc::network::impl& kj() { return net->kj_side(); }
  void write_file(const std::string& rel, const std::string& bytes) const;
};

class pipe_peers {
public:
  explicit pipe_peers(options o = {});
  ~pipe_peers();

  // Runs the loop until `done()` or `seconds` passed; returns done().
  bool pump_until(const std::function<bool()>& done, double seconds = 5);
  // Runs the loop for a while (to see that nothing more happens).
  void pump_for(std::chrono::milliseconds d);
  // True once both sides report the session up (the constructor waits for it).
  bool up() const { return a.session != 0 && b.session != 0; }

  kj::AsyncIoContext io = kj::setupAsyncIo();
  peer a, b;

private:
  rpc::dial_target target_; // what `a` dialed
};

// A deterministic pattern of `n` bytes.
std::string pattern(std::size_t n, std::uint32_t seed = 1);
// A valid record of a file with these bytes, in chunks of `chunk` bytes, at version {7: 1}.
rpc::wire_entry file_entry(const std::string& path, const std::string& bytes,
                           std::size_t chunk = 64 * 1024);
// `bytes` as one pooled frame at `offset`.
rpc::piece piece_of(std::uint64_t offset, const std::string& bytes);

} // namespace peers
