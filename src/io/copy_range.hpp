// Writing at an offset, and copying bytes between two open files inside the kernel
// (copy_file_range: a reflink where the file system shares extents, a page-cache copy
// elsewhere), with a pread/pwrite fallback where the kernel refuses (EXDEV, EINVAL, ENOSYS,
// EOPNOTSUPP).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace cascade::io {

// Reads exactly `out.size()` bytes of `fd` at `offset` (pread, again after a short read or
// EINTR); false on an error or if the file ends first.
bool read_at(int fd, std::span<std::uint8_t> out, std::uint64_t offset);

// Writes all `n` bytes of `p` to `fd` at `offset` (pwrite, again after a short write or EINTR).
bool write_at(int fd, const void* p, std::size_t n, std::uint64_t offset);

// Copies `length` bytes of `in` at `from` to `out` at `to`. False (errno set) on an error or
// if `in` ends early.
bool copy_range(int in, std::uint64_t from, int out, std::uint64_t to, std::uint64_t length);

} // namespace cascade::io
