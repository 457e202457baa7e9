#include "io/hasher.hpp"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

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
  while (true) {
    if (!eof && end - begin < params.max_size) {
      std::memmove(buf.data(), buf.data() + begin, end - begin);
      end -= begin;
      begin = 0;
      while (!eof && end < buf.size()) {
        auto n = ::read(fd.get(), buf.data() + end, buf.size() - end);
        if (n < 0 && errno == EINTR)
          continue;
        if (n < 0)
          return std::nullopt;
        if (n == 0)
          eof = true;
        end += static_cast<std::size_t>(n);
      }
    }
    if (begin == end)
      break;
    std::span<const std::uint8_t> window(buf.data() + begin, end - begin);
    auto len = core::next_cut(window, eof, params);
    core::chunk c;
    c.offset = offset;
    c.length = static_cast<std::uint32_t>(len);
    c.hash = sha256(window.first(len));
    out.chunks.push_back(c);
    offset += len;
    begin += len;
  }
  return out;
}

} // namespace cascade::io
