// Frame buffers that are reused instead of allocated per frame. A block is 1 MiB + 64 KiB (a
// frame of chunks plus its message); a `buffer` is a shared, ref-counted, read-only slice of one,
// and the block goes back to its pool when the last slice lets go. The pool keeps at most
// `max_idle` idle blocks; live blocks are bounded by whoever holds them (flow control). glibc
// would serve each fresh 1 MiB with mmap and fault every page in again: a pooled block is
// faulted in once. Thread-safe: blocks are taken and returned on any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

namespace cascade::io {

class buffer_pool;

namespace detail {
struct block {
  std::uint8_t* bytes = nullptr;
  std::size_t capacity = 0;
  std::atomic<long> refs{0};
  buffer_pool* home = nullptr;
};
void add_ref(block* b);
void release(block* b);
} // namespace detail

// An immutable view of bytes kept alive by a reference on their block. Copying shares.
class buffer {
public:
  buffer() = default;
  buffer(const buffer& o) : b_(o.b_), off_(o.off_), len_(o.len_) { detail::add_ref(b_); }
  buffer(buffer&& o) noexcept : b_(o.b_), off_(o.off_), len_(o.len_) { o.b_ = nullptr; }
  buffer& operator=(buffer o) noexcept {
    std::swap(b_, o.b_);
    std::swap(off_, o.off_);
    std::swap(len_, o.len_);
    return *this;
  }
  ~buffer() { detail::release(b_); }

  const std::uint8_t* data() const { return b_ ? b_->bytes + off_ : nullptr; }
  std::size_t size() const { return len_; }
  bool empty() const { return len_ == 0; }
  const std::uint8_t* begin() const { return data(); }
  const std::uint8_t* end() const { return data() + len_; }
  std::span<const std::uint8_t> span() const { return {data(), len_}; }
  explicit operator bool() const { return b_ != nullptr; }
  // Bytes [off, off + len) of this view, sharing the block. Requires off + len <= size().
  buffer slice(std::size_t off, std::size_t len) const;
  // `a` followed by `b` as one view, if `b` starts where `a` ends in the same block.
  static std::optional<buffer> join(const buffer& a, const buffer& b);
  // The number of holders of the underlying block (tests).
  long use_count() const { return b_ ? b_->refs.load() : 0; }

private:
  friend class buffer_pool;
  friend class block_ref;
  buffer(detail::block* b, std::size_t off, std::size_t len) : b_(b), off_(off), len_(len) {}
  detail::block* b_ = nullptr;
  std::size_t off_ = 0, len_ = 0;
};

// A block being filled: writable, then shared as buffers of its bytes.
class block_ref {
public:
  block_ref() = default;
  block_ref(const block_ref&) = delete;
  block_ref& operator=(const block_ref&) = delete;
  block_ref(block_ref&& o) noexcept : b_(o.b_) { o.b_ = nullptr; }
  block_ref& operator=(block_ref&& o) noexcept {
    std::swap(b_, o.b_);
    return *this;
  }
  ~block_ref() { detail::release(b_); }

  std::uint8_t* data() { return b_->bytes; }
  std::size_t capacity() const { return b_->capacity; }
  explicit operator bool() const { return b_ != nullptr; }
  // Bytes [off, off + len) as a shared buffer; this handle stays valid.
  buffer share(std::size_t off, std::size_t len) const;
  // Zeroes the bytes from `end` to the next multiple of 8 (within the block), so that a word-
  // padded view of [.., end) sends no stale bytes.
  void zero_pad(std::size_t end);

private:
  friend class buffer_pool;
  explicit block_ref(detail::block* b) : b_(b) {}
  detail::block* b_ = nullptr;
};

class buffer_pool {
public:
  static constexpr std::size_t block_bytes = 1024 * 1024 + 64 * 1024;
  static constexpr std::size_t default_max_idle = 32;

  explicit buffer_pool(std::size_t max_idle = default_max_idle, std::size_t block = block_bytes);
  // Every buffer of this pool must be gone by then.
  ~buffer_pool();
  buffer_pool(const buffer_pool&) = delete;
  buffer_pool& operator=(const buffer_pool&) = delete;

  // A block of at least `min_bytes` (8-byte aligned): an idle one if it is of the standard size,
  // else a new one. Bigger requests get a block of their own, freed when released.
  block_ref acquire(std::size_t min_bytes = 0);
  // A copy of the bytes in a pooled block.
  buffer copy(std::span<const std::uint8_t> bytes);
  // A view of bytes that lie in a block of this pool someone holds (a received message), sharing
  // that block; an empty buffer (false) if they do not.
  buffer share(const void* p, std::size_t n);
  buffer share_or_copy(std::span<const std::uint8_t> bytes);

  struct stats {
    std::size_t idle = 0;    // blocks waiting for reuse
    std::size_t live = 0;    // blocks held now
    std::size_t created = 0; // blocks ever allocated
  };
  stats statistics() const;
  std::size_t block_size() const { return block_; }

private:
  friend void detail::release(detail::block*);
  void give_back(detail::block* b);
  detail::block* create(std::size_t capacity); // under mutex_

  const std::size_t max_idle_, block_;
  mutable std::mutex mutex_;
  std::vector<detail::block*> idle_;
  std::map<const std::uint8_t*, detail::block*> all_; // by address, idle or live
  std::size_t created_ = 0;
};

// The process's pool of frame buffers (never destroyed: buffers may outlive static teardown).
buffer_pool& frame_pool();

} // namespace cascade::io
