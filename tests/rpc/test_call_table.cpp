// rpc::call_table: the calls of peers that wait for our actors, with a cap per session, answered
// once, and gone with their session (the peer's call fails rather than hangs).
#include <doctest/doctest.h>

#include <kj/async.h>
#include <kj/debug.h>

#include "rpc/call_table.hpp"

using namespace cascade::rpc;

namespace {
struct loop_fixture {
  kj::EventLoop loop;
  kj::WaitScope ws{loop};
};
} // namespace

TEST_CASE("call table: a session may have its limit of calls waiting, no more") {
  loop_fixture f;
  call_table<int> t(2);
  auto a = t.open(1, 10);
  auto b = t.open(1, 11);
  CHECK(a != nullptr);
  CHECK(b != nullptr);
  CHECK(t.pending(1) == 2);
  CHECK(t.open(1, 12) == nullptr); // over the limit: the caller drops the session
  CHECK(t.open(2, 13) != nullptr); // another session has its own limit
  CHECK(t.pending(2) == 1);
  // An answered call frees its place.
  CHECK(t.answer(1, 10, 7));
  CHECK(KJ_ASSERT_NONNULL(a).wait(f.ws) == 7);
  CHECK(t.pending(1) == 1);
  CHECK(t.open(1, 14) != nullptr);
}

TEST_CASE("call table: a call is answered once; a failed one rejects") {
  loop_fixture f;
  call_table<int> t(4);
  auto a = t.open(1, 1);
  auto b = t.open(1, 2);
  CHECK(t.contains(1, 1));
  CHECK(t.answer(1, 1, 5));
  CHECK_FALSE(t.contains(1, 1));
  CHECK_FALSE(t.answer(1, 1, 6)); // answered already
  CHECK_FALSE(t.answer(2, 1, 6)); // another session's call of that id does not exist
  CHECK(KJ_ASSERT_NONNULL(a).wait(f.ws) == 5);
  CHECK(t.fail(1, 2, KJ_EXCEPTION(FAILED, "update rejected")));
  CHECK_THROWS(KJ_ASSERT_NONNULL(b).wait(f.ws));
  CHECK(t.pending(1) == 0);
}

TEST_CASE("call table: a dropped session takes its calls, and only its own") {
  loop_fixture f;
  call_table<int> t(4);
  auto a = t.open(1, 1);
  auto b = t.open(2, 2);
  auto c = t.open(3, 3);
  t.drop_session(2);
  CHECK(t.pending(2) == 0);
  CHECK_FALSE(t.answer(2, 2, 1));
  CHECK_THROWS(KJ_ASSERT_NONNULL(b).wait(f.ws)); // the peer's call fails, it does not hang
  CHECK(t.answer(1, 1, 1));
  CHECK(t.answer(3, 3, 3));
  CHECK(KJ_ASSERT_NONNULL(a).wait(f.ws) == 1);
  CHECK(KJ_ASSERT_NONNULL(c).wait(f.ws) == 3);
}
