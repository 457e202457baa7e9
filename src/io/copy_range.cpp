#include "io/copy_range.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace cascade::io {

namespace {

bool copy_by_hand(int in, std::uint64_t from, int out, std::uint64_t to, std::uint64_t length) {
  std::vector<char> buf(std::min<std::uint64_t>(length, 1 << 20));
  while (length > 0) {
    auto want = std::min<std::uint64_t>(length, buf.size());
    auto n = ::pread(in, buf.data(), want, static_cast<off_t>(from));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      if (n == 0)
        errno = EIO; // the source is shorter than it was said to be
      return false;
    }
    if (!write_at(out, buf.data(), static_cast<std::size_t>(n), to))
      return false;
    from += static_cast<std::uint64_t>(n);
    to += static_cast<std::uint64_t>(n);
    length -= static_cast<std::uint64_t>(n);
  }
  return true;
}

} // namespace

bool read_at(int fd, std::span<std::uint8_t> out, std::uint64_t offset) {
  std::size_t done = 0;
  while (done < out.size()) {
    auto n = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

bool write_at(int fd, const void* p, std::size_t n, std::uint64_t offset) {
  auto* b = static_cast<const char*>(p);
  while (n > 0) {
    auto w = ::pwrite(fd, b, n, static_cast<off_t>(offset));
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return false;
    b += w;
    n -= static_cast<std::size_t>(w);
    offset += static_cast<std::uint64_t>(w);
  }
  return true;
}

bool copy_range(int in, std::uint64_t from, int out, std::uint64_t to, std::uint64_t length) {
  while (length > 0) {
    auto off_in = static_cast<off64_t>(from), off_out = static_cast<off64_t>(to);
    auto n = ::copy_file_range(in, &off_in, out, &off_out, length, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP))
      return copy_by_hand(in, from, out, to, length);
    if (n <= 0) {
      if (n == 0)
        errno = EIO;
      return false;
    }
    from += static_cast<std::uint64_t>(n);
    to += static_cast<std::uint64_t>(n);
    length -= static_cast<std::uint64_t>(n);
  }
  return true;
}

} // namespace cascade::io
