#include "app/keys.hpp"

#include "rpc/tls.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace cascade::app {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return {};
  std::stringstream ss;
  ss << in.rdbuf();
  auto s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
    s.pop_back();
  return s;
}

void write_private(const std::string& path, const std::string& content) {
  auto tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    throw std::runtime_error("cannot write " + path);
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0)
    throw std::runtime_error("cannot write " + path);
}

} // namespace

std::string generate_group_key() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1)
    throw std::runtime_error("no randomness from OpenSSL");
  return "cas1-" + core::base32_encode(bytes, sizeof bytes);
}

bool valid_group_key(const std::string& key) {
  if (key.rfind("cas1-", 0) != 0)
    return false;
  auto raw = core::base32_decode(key.substr(5));
  return raw && raw->size() == 32;
}

std::string group_tag(const std::string& key) {
  std::string input = "cascade mdns group tag v1\n" + key;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(input.data(), input.size(), out, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string tag;
  for (int i = 0; i < 8; ++i) {
    tag += hex[out[i] >> 4];
    tag += hex[out[i] & 15];
  }
  return tag;
}

identity load_or_create_identity(const std::string& state_dir) {
  auto path = state_dir + "/identity";
  identity out;
  out.private_pem = read_file(path);
  if (out.private_pem.empty()) {
    out.private_pem = rpc::generate_private_key();
    write_private(path, out.private_pem);
  }
  try {
    out.id = rpc::device_of_private_key(out.private_pem + "\n");
  } catch (const std::exception& e) {
    throw std::runtime_error(path + " is not a valid identity (" + e.what() +
                             "); move it away to make a new one");
  }
  return out;
}

std::string resolve_group_key(const std::optional<std::string>& key,
                              const std::optional<std::string>& key_file,
                              const std::string& state_dir, bool& created) {
  created = false;
  std::string k;
  if (key)
    k = *key;
  else if (key_file) {
    k = read_file(*key_file);
    if (k.empty())
      throw std::invalid_argument("--key-file: cannot read a key from " + *key_file);
  }
  auto stored_path = state_dir + "/group.key";
  if (k.empty())
    k = read_file(stored_path);
  if (k.empty()) {
    k = generate_group_key();
    created = true;
  }
  if (!valid_group_key(k))
    throw std::invalid_argument("the group key is not valid (expected cas1- and 52 base32 "
                                "characters, as `node keygen` prints)");
  if (read_file(stored_path) != k)
    write_private(stored_path, k + "\n");
  return k;
}

} // namespace cascade::app
