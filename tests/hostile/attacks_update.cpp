// Attacks through the index: update batches with hostile names and links, too many records,
// oversized records and messages, and a deletion at the largest version counter.
#include <cstdint>

#include "hostile_peer.hpp"

namespace hostile {

int attack_bad_names(ctx& c) {
  if (c.o.dir.empty())
    usage("bad-names needs --dir OUTSIDE (a directory outside the node's folder)");
  auto s = connect_with_key(c, c.o.key);
  say("hello accepted");
  if (!s->wait_subscribed(5))
    say("the node did not subscribe within 5s (sending anyway)");
  writer w{core::short_of(c.tls.self())};
  const std::string pwn = "pwned by hostile_peer\n";
  const std::string marker = c.o.marker.empty() ? "hostile-marker" : c.o.marker;
  std::vector<rec> recs;
  // Links first: a valid symlink out of the folder, and one whose target climbs out.
  recs.push_back(symlink_rec("link", c.o.dir));
  recs.push_back(symlink_rec("escape", "../../etc"));
  // Names every validator must refuse.
  std::vector<std::string> bad = {
      c.o.dir + "/" + marker + "-absolute", // absolute, pointing into the test's scratch
      "/etc/" + marker,
      "../" + marker + "-dotdot",
      "a/../../" + marker + "-dotdot2",
      "a//b",
      "a/",
      "./a",
      "a/.",
      "",
      ".",
      "..",
      "a\\b",
      "..\\..\\" + marker + "-backslash",
      std::string("nul\0byte", 8),
      "ctrl\x01char",
      "tab\tname",
      "x\n2000-01-01T00:00:00.000Z INFO  FORGED-LOG-LINE " + marker,
      "del\x7f",
      "bad\xff\xfeutf8",
      "overlong\xc0\xae\xc0\xae",
      "surrogate\xed\xa0\x80",
      std::string(300, 'c'),
      std::string(5000, 'p'),
      ".cascade/identity",
      ".cascade/group.key",
      ".cascade/x",
      ".cascade",
  };
  // A long path of valid components (5000 bytes in total).
  {
    std::string p;
    while (p.size() < 5000)
      p += std::string(100, 'd') + "/";
    p += "leaf";
    bad.push_back(p);
  }
  for (auto& n : bad)
    recs.push_back(file_inline(n, pwn));
  // Valid names that lead through the links: must never be written through them.
  recs.push_back(file_inline("link/" + marker + "-via-link", pwn));
  recs.push_back(dir_rec("link/" + marker + "-dir-via-link"));
  {
    rec del;
    del.path = "link/victim";
    del.deleted = true;
    recs.push_back(del);
  }
  recs.push_back(file_inline("escape/" + marker + "-via-escape", pwn));
  // A bad type value on the wire.
  {
    rec r = dir_rec("badtype");
    r.type = static_cast<wire::FileType>(7);
    recs.push_back(r);
  }
  // Inline data that lies about the size, chunks that do not tile, a short hash.
  {
    rec r = file_inline("lying-size.txt", pwn);
    r.size = 3;
    recs.push_back(r);
    rec q = file_inline("gap-chunks.txt", pwn);
    q.chunks[0].offset = 1;
    recs.push_back(q);
    // Inline data of the right size that is not what the record's hashes say.
    rec w = file_inline("wrong-hash.txt", pwn);
    w.data[0] = static_cast<char>(w.data[0] ^ 1);
    recs.push_back(w);
  }
  // Setuid, setgid and sticky bits asked for by a peer.
  recs.push_back(file_inline("modes.sh", "#!/bin/sh\necho hi\n", 06777));
  // And one good file, which must be applied.
  recs.push_back(file_inline("good.txt", "good file from the hostile peer " + marker + "\n"));
  auto err = send_update_retry(*s, w, recs);
  if (!err.empty()) {
    result("update failed: " + err);
    return 1;
  }
  result("update acknowledged (" + std::to_string(recs.size()) + " records)");
  // Same names again, each in a batch of its own, so one bad record cannot hide another.
  int refused = 0;
  for (auto& n : bad) {
    auto e = send_update(*s, w, {file_inline(n, pwn)}, 10);
    if (!e.empty())
      ++refused;
  }
  say("single-record batches sent: " + std::to_string(bad.size()) + ", " + std::to_string(refused) +
      " refused by RPC error");
  bool dropped = s->wait_disconnected(0.5);
  result(dropped ? "disconnected" : "still connected");
  return 0;
}

int attack_flood(ctx& c) {
  auto s = connect_with_key(c, c.o.key);
  s->wait_subscribed(5);
  writer w{core::short_of(c.tls.self())};
  int n = c.o.count > 1 ? c.o.count : 20000;
  std::vector<rec> recs;
  for (int i = 0; i < n; ++i) {
    rec r;
    r.path = "flood/" + std::to_string(i);
    recs.push_back(r); // empty file: no chunks
  }
  double t0 = now_s();
  auto err = send_update(*s, w, recs, 20);
  say("update of " + std::to_string(n) + " records: " + (err.empty() ? "acknowledged" : err));
  bool dropped = s->wait_disconnected(5);
  result(std::string(dropped ? "disconnected" : "NOT disconnected") + " after " +
         fmt_s(now_s() - t0));
  return 0;
}

int attack_oversized(ctx& c) {
  auto s = connect_with_key(c, c.o.key);
  s->wait_subscribed(5);
  writer w{core::short_of(c.tls.self())};
  // 1. Inline data of 60 MiB on a record that claims 22 bytes.
  {
    rec r = file_inline("inline-lie.bin", "twenty-two bytes long\n");
    r.fake_data = 60u << 20;
    auto e = send_update_retry(*s, w, {r});
    result("inline 60 MiB under a 22-byte record: " + (e.empty() ? "acknowledged" : e));
  }
  // 2. A chunk of 2 MiB (the node allows 1 MiB).
  {
    rec r;
    r.path = "bigchunk.bin";
    r.size = 2u << 20;
    r.chunks = chunks_of(r.size, 2u << 20, 99);
    auto e = send_update(*s, w, {r});
    result("2 MiB chunk: " + (e.empty() ? "acknowledged" : e));
  }
  // 3. 60 MiB of inline data that matches its size (a "small file" of 60 MiB).
  {
    rec r;
    r.path = "inline-huge.bin";
    r.size = 60u << 20;
    r.chunks = chunks_of(r.size, 1u << 20, 7);
    r.has_data = true;
    r.data.resize(r.size);
    for (std::size_t i = 0; i < r.chunks.size(); ++i)
      fill_block(7 + i, reinterpret_cast<std::uint8_t*>(r.data.data()) + r.chunks[i].offset,
                 r.chunks[i].length);
    auto e = send_update(*s, w, {r});
    result("inline 60 MiB file with a matching size: " + (e.empty() ? "acknowledged" : e));
  }
  // 4. A message above capnp's 64 MiB limit: the node must drop the connection.
  {
    rec r = file_inline("too-big.bin", "x");
    r.fake_data = 70u << 20;
    double t0 = now_s();
    auto e = send_update(*s, w, {r}, 20);
    bool dropped = s->wait_disconnected(5);
    result("70 MiB message: " + (e.empty() ? std::string("acknowledged") : e) + "; " +
           (dropped ? "disconnected" : "NOT disconnected") + " after " + fmt_s(now_s() - t0));
  }
  return 0;
}

// A deletion of an existing file (--path) under a version whose counter is the largest
// 64-bit value: concurrent with the node's own version, so the node keeps its file and
// re-announces it with a merged and bumped version; the bump cannot go above the maximum.
int attack_max_counter(ctx& c) {
  if (c.o.path.empty())
    usage("max-counter needs --path NAME (a file the node has)");
  auto s = connect_with_key(c, c.o.key);
  s->wait_subscribed(5);
  writer w{core::short_of(c.tls.self())};
  rec del;
  del.path = c.o.path;
  del.deleted = true;
  del.counter = UINT64_MAX;
  auto e = send_update_retry(*s, w, {del});
  bool dropped = s->wait_disconnected(2);
  result("deletion of " + c.o.path +
         " at counter 2^64-1: " + (e.empty() ? std::string("acknowledged") : e) + "; " +
         (dropped ? "disconnected" : "still connected"));
  return 0;
}

// Chunk deltas (issue 11.6): one that repeats its base far past the record's size (a memory
// bomb), one whose base the node never saw, and a malformed one. The node answers needFull to
// the first two, rejects the third, and takes the good file sent with them.
int attack_bad_delta(ctx& c) {
  auto s = connect_with_key(c, c.o.key);
  s->wait_subscribed(5);
  writer w{core::short_of(c.tls.self())};
  rec base;
  base.path = "delta-base.bin";
  base.chunks = chunks_of(100 * 1000, 1000, 7);
  base.size = 100 * 1000;
  base.counter = 1;
  auto err = send_update_retry(*s, w, {base});
  if (!err.empty()) {
    result("base update failed: " + err);
    return 1;
  }
  auto delta_of = [&](std::string path, std::uint64_t counter, std::uint64_t base_counter,
                      std::vector<core::delta_step> steps) {
    rec r = base;
    r.path = std::move(path);
    r.counter = counter;
    r.chunks.clear();
    r.delta_base = base_counter;
    r.delta = std::move(steps);
    return r;
  };
  auto bomb = delta_of(base.path, 2, 1, std::vector(20000, core::delta_step{0, 100, {}}));
  result("delta repeating its base: " + send_update_answer(*s, w, {bomb}));
  auto orphan = delta_of("delta-orphan.bin", 5, 4, {core::delta_step{0, 100, {}}});
  result("delta without a base: " + send_update_answer(*s, w, {orphan}));
  core::chunk empty{0, 0, {}};
  auto broken = delta_of("delta-broken.bin", 3, 1, {core::delta_step{0, 0, {empty}}});
  result("malformed delta with a good file: " +
         send_update_answer(*s, w, {broken, file_inline("delta-good.txt", "good\n")}));
  bool dropped = s->wait_disconnected(0.5);
  result(dropped ? "disconnected" : "still connected");
  return 0;
}

} // namespace hostile
