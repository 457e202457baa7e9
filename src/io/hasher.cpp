#include "io/hasher.hpp"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "core/chunker.hpp"

namespace cascade::io {

namespace {

struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

const EVP_MD* sha256_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

} // namespace

core::sha256_digest sha256(std::span<const std::uint8_t> data) {
  thread_local std::unique_ptr<EVP_MD_CTX, md_ctx_deleter> ctx(EVP_MD_CTX_new());
  core::sha256_digest out{};
  unsigned len = 0;
  EVP_DigestInit_ex(ctx.get(), sha256_md(), nullptr);
  EVP_DigestUpdate(ctx.get(), data.data(), data.size());
  EVP_DigestFinal_ex(ctx.get(), out.data(), &len);
  return out;
}

namespace {

// The read blocks of one large file: a few fixed blocks reused in turn, so a chunk the side
// hasher has not hashed yet is never overwritten, and no block is allocated per refill.
class block_pool {
public:
  block_pool(std::size_t block_size, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i)
      free_.push_back(std::make_unique<std::vector<std::uint8_t>>(block_size));
  }
  // A free block, waiting for the side hasher to give one back if none is.
  std::shared_ptr<std::vector<std::uint8_t>> take() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return !free_.empty(); });
    auto* b = free_.back().release();
    free_.pop_back();
    return {b, [this](std::vector<std::uint8_t>* v) { give_back(v); }};
  }

private:
  void give_back(std::vector<std::uint8_t>* v) {
    {
      std::lock_guard lock(mutex_);
      free_.emplace_back(v);
    }
    cv_.notify_one();
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<std::vector<std::uint8_t>>> free_;
};

// Hashes the chunks of a large file on a second thread, straight from the block the caller read
// them into (no second read), while the caller reads and finds the cut points: per GiB on this
// machine kind, reading from tmpfs takes about 0.37 s and cutting 0.58 s, SHA-256 0.65 s, so
// the two threads are about even (the caller hashing a third as well left it the slow one). A
// new large file is pushed only once it is hashed (DESIGN.md §10).
class side_hasher {
public:
  side_hasher() : thread_([this] { run(); }) {}
  side_hasher(const side_hasher&) = delete;
  side_hasher& operator=(const side_hasher&) = delete;
  ~side_hasher() { finish(); }
  // `c` must stay where it is until finish() (a std::deque's push_back keeps it in place);
  // `bytes` lie in `block`, which is held until they are hashed.
  void add(core::chunk* c, std::shared_ptr<std::vector<std::uint8_t>> block,
           std::span<const std::uint8_t> bytes) {
    {
      std::lock_guard lock(mutex_);
      todo_.push_back({c, std::move(block), bytes});
    }
    cv_.notify_one();
  }
  // Waits until every added chunk is hashed.
  void finish() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable())
      thread_.join();
  }
  // Drops what is not hashed yet (the caller gives up on the file).
  void abandon() {
    {
      std::lock_guard lock(mutex_);
      todo_.clear();
    }
    finish();
  }

private:
  struct job {
    core::chunk* c;
    std::shared_ptr<std::vector<std::uint8_t>> block;
    std::span<const std::uint8_t> bytes;
  };
  void run() {
    while (true) {
      job j;
      {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return done_ || !todo_.empty(); });
        if (todo_.empty())
          return;
        j = std::move(todo_.front());
        todo_.pop_front();
      }
      j.c->hash = sha256(j.bytes);
    }
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<job> todo_;
  bool done_ = false;
  std::thread thread_; // last: it starts once the members above exist
};

constexpr std::uint64_t side_hash_from = 16 * 1024 * 1024; // smaller files: one thread
constexpr std::size_t side_block = 4 * 1024 * 1024;
constexpr std::size_t side_blocks = 4; // what the side hasher may lag behind: 12 MiB

// Fills buf[end, size) from fd; false on a read error. Sets eof when the file ends.
bool fill(int fd, std::uint8_t* buf, std::size_t size, std::size_t& end, bool& eof) {
  while (!eof && end < size) {
    auto n = ::read(fd, buf + end, size - end);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return false;
    if (n == 0)
      eof = true;
    end += static_cast<std::size_t>(n);
  }
  return true;
}

// A large file: read through blocks of side_block bytes, the chunks hashed on the side thread
// from the blocks themselves. A window that would run past a block continues in
// the next one, which starts with the unfinished tail (at most max_size bytes) copied over.
std::optional<std::vector<core::chunk>> hash_large(int fd, const core::cdc_params& params) {
  block_pool pool(side_block, side_blocks);
  std::deque<core::chunk> chunks; // stable addresses for the side hasher
  side_hasher side;               // after the pool and chunks: joined before they go
  auto cur = pool.take();
  std::size_t begin = 0, end = 0;
  std::uint64_t offset = 0;
  bool eof = false;
  while (true) {
    if (!eof && end - begin < params.max_size) {
      auto next = pool.take();
      std::memcpy(next->data(), cur->data() + begin, end - begin);
      end -= begin;
      begin = 0;
      cur = std::move(next);
      if (!fill(fd, cur->data(), cur->size(), end, eof)) {
        side.abandon();
        return std::nullopt;
      }
    }
    if (begin == end)
      break;
    std::span<const std::uint8_t> window(cur->data() + begin, end - begin);
    auto len = core::next_cut(window, eof, params);
    core::chunk& c = chunks.emplace_back();
    c.offset = offset;
    c.length = static_cast<std::uint32_t>(len);
    side.add(&c, cur, window.first(len));
    offset += len;
    begin += len;
  }
  side.finish();
  return std::vector<core::chunk>(chunks.begin(), chunks.end());
}

} // namespace

std::optional<hashed_file> hash_file(const folder& f, std::string_view rel) {
  auto fd = f.open_read(rel);
  if (!fd)
    return std::nullopt;
  struct ::stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
    return std::nullopt;
  hashed_file out;
  out.before = to_local_stat(st);
  const core::cdc_params params;
  // A short read (the file shrank meanwhile) hashes what was read: the caller's stat
  // comparison then discards the result.
  if (static_cast<std::uint64_t>(st.st_size) >= side_hash_from) {
    auto chunks = hash_large(fd.get(), params);
    if (!chunks)
      return std::nullopt;
    out.chunks = std::move(*chunks);
    return out;
  }
  // A window of at least max_size bytes past the current chunk start, refilled as we go: a file
  // up to 4 MiB is read whole in the first fill (so its end is known), a larger one through a
  // 4 MiB window. The buffer is kept per thread: a fresh zeroed 4 MiB per file cost more than
  // hashing a small file (a memset and page faults per file, measured on 10,000 files of 4 KiB).
  thread_local std::vector<std::uint8_t> buf;
  const auto want = std::clamp<std::uint64_t>(static_cast<std::uint64_t>(st.st_size) + 1, 64 * 1024,
                                              4 * 1024 * 1024);
  if (buf.size() < want)
    buf.resize(want);
  std::size_t begin = 0, end = 0;
  std::uint64_t offset = 0;
  bool eof = false;
  while (true) {
    if (!eof && end - begin < params.max_size) {
      std::memmove(buf.data(), buf.data() + begin, end - begin);
      end -= begin;
      begin = 0;
      if (!fill(fd.get(), buf.data(), buf.size(), end, eof))
        return std::nullopt;
    }
    if (begin == end)
      break;
    std::span<const std::uint8_t> window(buf.data() + begin, end - begin);
    auto len = core::next_cut(window, eof, params);
    core::chunk& c = out.chunks.emplace_back();
    c.offset = offset;
    c.length = static_cast<std::uint32_t>(len);
    c.hash = sha256(window.first(len));
    offset += len;
    begin += len;
  }
  return out;
}

} // namespace cascade::io
