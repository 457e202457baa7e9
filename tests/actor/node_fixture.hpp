// What the actor tests of transfers and uploads share: a node's context over a real temp
// directory and the fake network, an actor system, and a scoped actor standing in for the index.
#pragma once

#include <doctest/doctest.h>

#include <caf/all.hpp>

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "actors/actors.hpp"
#include "core/partials.hpp"
#include "fake_transport.hpp"
#include "file_helpers.hpp"
#include "io/folder.hpp"
#include "io/tmp_dir.hpp"

namespace cascade::test {

// Declared in destruction order: the actor system (it waits for every actor) goes first. A
// derived fixture sends its actors an exit in its own destructor, which runs before this one's.
struct node_fixture {
  std::string root = make_temp_root();
  std::string state = root + "/.cascade";
  bool made_state = std::filesystem::create_directories(state);
  io::folder folder{root};
  io::tmp_dir tmp{state + "/tmp"};
  core::partial_files partials;
  fake_transport net;
  actors::node_context ctx;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<caf::scoped_actor> index; // stands in for the index
  const core::device_id self = device(1), up = device(2), other = device(3), down = device(4);

  node_fixture() {
    ::chmod(state.c_str(), 0700);
    ctx.folder = &folder;
    ctx.state_dir = state;
    ctx.marker = state;
    ctx.tmp = &tmp;
    ctx.self = self;
    ctx.net = &net;
    ctx.partials = &partials;
    sys = std::make_unique<caf::actor_system>(cfg);
    index = std::make_unique<caf::scoped_actor>(*sys);
  }

  ~node_fixture() {
    index.reset();
    sys.reset();
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }
};

} // namespace cascade::test
