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

// Hashes chunks of a large file on a second thread (pread from the same descriptor) while the
// caller finds the cut points and hashes every third chunk itself: SHA-256 is the slow half of
// chunking, and a new large file is pushed only once it is hashed (DESIGN.md §10). A short
// read (the file shrank meanwhile) hashes what was read: the caller's stat comparison then
// discards the result.
class side_hasher {
public:
  explicit side_hasher(int fd) : fd_(fd), thread_([this] { run(); }) {}
  side_hasher(const side_hasher&) = delete;
  side_hasher& operator=(const side_hasher&) = delete;
  ~side_hasher() { finish(); }

  // `c` must stay where it is until finish() (a std::deque's push_back keeps it in place).
  void add(core::chunk* c) {
    {
      std::lock_guard lock(mutex_);
      todo_.push_back(c);
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
  void run() {
    std::vector<std::uint8_t> b;
    while (true) {
      core::chunk* c = nullptr;
      {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return done_ || !todo_.empty(); });
        if (todo_.empty())
          return;
        c = todo_.front();
        todo_.pop_front();
      }
      b.resize(c->length);
      std::size_t got = 0;
      while (got < b.size()) {
        auto n = ::pread(fd_, b.data() + got, b.size() - got, static_cast<off_t>(c->offset + got));
        if (n < 0 && errno == EINTR)
          continue;
        if (n <= 0)
          break;
        got += static_cast<std::size_t>(n);
      }
      c->hash = sha256(std::span<const std::uint8_t>(b.data(), got));
    }
  }

  int fd_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<core::chunk*> todo_;
  bool done_ = false;
  std::thread thread_; // last: it starts once the members above exist
};

constexpr std::uint64_t side_hash_from = 16 * 1024 * 1024; // smaller files: one thread

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
  std::deque<core::chunk> chunks; // stable addresses for the side hasher
  std::optional<side_hasher> side;
  if (static_cast<std::uint64_t>(st.st_size) >= side_hash_from)
    side.emplace(fd.get());
  while (true) {
    if (!eof && end - begin < params.max_size) {
      std::memmove(buf.data(), buf.data() + begin, end - begin);
      end -= begin;
      begin = 0;
      while (!eof && end < buf.size()) {
        auto n = ::read(fd.get(), buf.data() + end, buf.size() - end);
        if (n < 0 && errno == EINTR)
          continue;
        if (n < 0) {
          if (side)
            side->abandon();
          return std::nullopt;
        }
        if (n == 0)
          eof = true;
        end += static_cast<std::size_t>(n);
      }
    }
    if (begin == end)
      break;
    std::span<const std::uint8_t> window(buf.data() + begin, end - begin);
    auto len = core::next_cut(window, eof, params);
    core::chunk& c = chunks.emplace_back();
    c.offset = offset;
    c.length = static_cast<std::uint32_t>(len);
    if (side && chunks.size() % 3 != 0)
      side->add(&c);
    else
      c.hash = sha256(window.first(len));
    offset += len;
    begin += len;
  }
  if (side)
    side->finish();
  out.chunks.assign(chunks.begin(), chunks.end());
  return out;
}

} // namespace cascade::io
