#include "io/buffer_pool.hpp"

#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

namespace cascade::io {

namespace detail {
void add_ref(block* b) {
  if (b != nullptr)
    b->refs.fetch_add(1, std::memory_order_relaxed);
}

void release(block* b) {
  if (b != nullptr && b->refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
    b->home->give_back(b);
}
} // namespace detail

buffer buffer::slice(std::size_t off, std::size_t len) const {
  if (off > len_ || len > len_ - off)
    throw std::out_of_range("buffer slice out of range");
  detail::add_ref(b_);
  return buffer(b_, off_ + off, len);
}

std::optional<buffer> buffer::join(const buffer& a, const buffer& b) {
  if (a.b_ == nullptr || a.b_ != b.b_ || a.off_ + a.len_ != b.off_)
    return std::nullopt;
  detail::add_ref(a.b_);
  return buffer(a.b_, a.off_, a.len_ + b.len_);
}

buffer block_ref::share(std::size_t off, std::size_t len) const {
  if (off > b_->capacity || len > b_->capacity - off)
    throw std::out_of_range("block share out of range");
  detail::add_ref(b_);
  return buffer(b_, off, len);
}

void block_ref::zero_pad(std::size_t end) {
  auto padded = std::min((end + 7) / 8 * 8, b_->capacity);
  if (padded > end)
    std::memset(b_->bytes + end, 0, padded - end);
}

buffer_pool::buffer_pool(std::size_t max_idle, std::size_t block)
    : max_idle_(max_idle), block_((block + 7) / 8 * 8) {}

buffer_pool::~buffer_pool() {
  for (auto* b : idle_) {
    std::free(b->bytes);
    delete b;
  }
}

detail::block* buffer_pool::create(std::size_t capacity) {
  auto* b = new detail::block;
  b->bytes = static_cast<std::uint8_t*>(std::aligned_alloc(64, (capacity + 63) / 64 * 64));
  if (b->bytes == nullptr) {
    delete b;
    throw std::bad_alloc();
  }
  b->capacity = capacity;
  b->home = this;
  all_.emplace(b->bytes, b);
  ++created_;
  return b;
}

block_ref buffer_pool::acquire(std::size_t min_bytes) {
  std::lock_guard lock(mutex_);
  detail::block* b = nullptr;
  if (min_bytes <= block_ && !idle_.empty()) {
    b = idle_.back();
    idle_.pop_back();
  } else {
    b = create(std::max(min_bytes, block_));
  }
  b->refs.store(1, std::memory_order_relaxed);
  return block_ref(b);
}

void buffer_pool::give_back(detail::block* b) {
  std::lock_guard lock(mutex_);
  if (b->capacity == block_ && idle_.size() < max_idle_) {
    idle_.push_back(b);
    return;
  }
  all_.erase(b->bytes);
  std::free(b->bytes);
  delete b;
}

buffer buffer_pool::copy(std::span<const std::uint8_t> bytes) {
  auto blk = acquire(bytes.size());
  if (!bytes.empty())
    std::memcpy(blk.data(), bytes.data(), bytes.size());
  blk.zero_pad(bytes.size());
  return blk.share(0, bytes.size());
}

buffer buffer_pool::share(const void* p, std::size_t n) {
  auto* q = static_cast<const std::uint8_t*>(p);
  std::lock_guard lock(mutex_);
  auto it = all_.upper_bound(q);
  if (it == all_.begin())
    return {};
  --it;
  auto* b = it->second;
  if (q < b->bytes || n > b->capacity || static_cast<std::size_t>(q - b->bytes) > b->capacity - n)
    return {};
  // Only a block someone holds: its holder keeps it from going idle while we add ours.
  // (a count at 0 means it is on its way back to the pool: not revived).
  auto r = b->refs.load(std::memory_order_acquire);
  do {
    if (r <= 0)
      return {};
  } while (!b->refs.compare_exchange_weak(r, r + 1, std::memory_order_acq_rel));
  return buffer(b, static_cast<std::size_t>(q - b->bytes), n);
}

buffer buffer_pool::share_or_copy(std::span<const std::uint8_t> bytes) {
  if (auto b = share(bytes.data(), bytes.size()))
    return b;
  return copy(bytes);
}

buffer_pool::stats buffer_pool::statistics() const {
  std::lock_guard lock(mutex_);
  return {idle_.size(), all_.size() - idle_.size(), created_};
}

buffer_pool& frame_pool() {
  static auto* pool = new buffer_pool();
  return *pool;
}

} // namespace cascade::io
