// Writes the seed corpus: a few valid (and a few nearly valid) encodings per target.
// Built and run by `run.sh --regen-corpus`; its output is committed under corpus/.
#include <capnp/message.h>
#include <capnp/serialize.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/device_id.hpp"
#include "io/store.hpp"
#include "rpc/convert.hpp"

using namespace cascade;
namespace fs = std::filesystem;

namespace {

std::string root;

void put(const std::string& target, const std::string& name, const std::string& bytes) {
  fs::create_directories(root + "/" + target);
  std::ofstream(root + "/" + target + "/" + name, std::ios::binary) << bytes;
}

std::string flat(capnp::MessageBuilder& b) {
  auto words = capnp::messageToFlatArray(b);
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

core::chunk chunk(std::uint64_t off, std::uint32_t len, std::uint8_t fill) {
  core::chunk c;
  c.offset = off;
  c.length = len;
  c.hash.fill(fill);
  return c;
}

std::vector<rpc::wire_entry> samples() {
  std::vector<rpc::wire_entry> out;
  rpc::wire_entry small;
  small.record.path = "docs/readme.txt";
  small.record.size = 5;
  small.record.mtime_ns = 1'700'000'000'123'456'789;
  small.record.mode = 0644;
  small.record.version = core::version_vector({{0x1122334455667788ULL, 3}, {42, 1}});
  small.record.sequence = 7;
  small.record.modified_by = 42;
  small.record.chunks = {chunk(0, 5, 0xab)};
  small.has_data = true;
  small.data = "hello";
  out.push_back(small);

  rpc::wire_entry big = small;
  big.record.path = "media/big.bin";
  big.record.size = 3 * 65536 + 10;
  big.record.chunks = {chunk(0, 65536, 1), chunk(65536, 65536, 2), chunk(131072, 65536, 3),
                       chunk(196608, 10, 4)};
  big.has_data = false;
  big.data.clear();
  out.push_back(big);

  rpc::wire_entry edit = big; // its chunk list as a delta of version {9: 1}
  edit.record.chunks.clear();
  edit.delta = core::chunk_delta{core::version_vector({{9, 1}}),
                                 {core::delta_step{0, 2, {chunk(131072, 65546, 5)}}}};
  out.push_back(edit);

  rpc::wire_entry dir;
  dir.record.path = "docs";
  dir.record.type = core::file_type::dir;
  dir.record.mode = 0755;
  dir.record.version = core::version_vector({{9, 1}});
  out.push_back(dir);

  rpc::wire_entry link = dir;
  link.record.path = "docs/latest";
  link.record.type = core::file_type::symlink;
  link.record.symlink_target = "readme.txt";
  out.push_back(link);

  rpc::wire_entry gone = dir;
  gone.record.path = "old/notes.md";
  gone.record.type = core::file_type::file;
  gone.record.deleted = true;
  out.push_back(gone);

  rpc::wire_entry empty = dir;
  empty.record.path = "empty";
  empty.record.type = core::file_type::file;
  empty.record.mode = 0600;
  out.push_back(empty);

  rpc::wire_entry bad = small; // rejected: climbs out
  bad.record.path = "../escape";
  out.push_back(bad);
  return out;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: gen_corpus CORPUS_DIR\n");
    return 2;
  }
  root = argv[1];
  auto entries = samples();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    capnp::MallocMessageBuilder b;
    rpc::to_wire(entries[i], b.initRoot<wire::Record>());
    put("fuzz_record", "record-" + std::to_string(i), flat(b));
  }
  {
    capnp::MallocMessageBuilder b;
    auto p = b.initRoot<wire::Peer::UpdateParams>();
    auto list = p.initRecords(static_cast<unsigned>(entries.size()));
    for (unsigned i = 0; i < entries.size(); ++i)
      rpc::to_wire(entries[i], list[i]);
    p.setLast(99);
    put("fuzz_update", "update-all", flat(b));
    capnp::MallocMessageBuilder one;
    auto q = one.initRoot<wire::Peer::UpdateParams>();
    rpc::to_wire(entries[0], q.initRecords(1)[0]);
    q.setLast(1);
    put("fuzz_update", "update-one", flat(one));
  }
  const char* paths[] = {"a",           "docs/readme.txt",
                         "a/b/c/d.txt", "Ünïcødé/文件.txt",
                         "a/.cascade",  ".cascade/x",
                         "../x",        "a//b",
                         "a\\b",        "/abs"};
  for (std::size_t i = 0; i < sizeof paths / sizeof *paths; ++i)
    put("fuzz_path", "path-" + std::to_string(i), paths[i]);
  const char* versions[] = {"", "0000000000000001:1", "1122334455667788:3,000000000000002a:1",
                            "00000000000000ff:18446744073709551615", "0000000000000001:0"};
  for (std::size_t i = 0; i < sizeof versions / sizeof *versions; ++i)
    put("fuzz_version", "version-" + std::to_string(i), versions[i]);
  put("fuzz_chunks", "chunks-0", io::encode_chunks(entries[0].record.chunks));
  put("fuzz_chunks", "chunks-1", io::encode_chunks(entries[1].record.chunks));
  core::device_id id{};
  for (std::size_t i = 0; i < id.size(); ++i)
    id[i] = static_cast<std::uint8_t>(i * 7 + 1);
  put("fuzz_device_id", "id-grouped", core::format_device_id(id));
  auto plain = core::format_device_id(id);
  std::erase(plain, '-');
  put("fuzz_device_id", "id-plain-lower", [&] {
    for (auto& c : plain)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return plain;
  }());
  put("fuzz_device_id", "key", "cas1-" + core::base32_encode(id.data(), id.size()));
  return 0;
}
