#include "app/deny.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>

namespace cascade::app {

std::vector<core::device_id> read_denied(const std::string& state_dir) {
  std::vector<core::device_id> out;
  std::ifstream in(state_dir + "/denied");
  std::string line;
  while (std::getline(in, line))
    if (auto id = core::parse_device_id(line))
      out.push_back(*id);
  return out;
}

void append_denied(const std::string& state_dir, const core::device_id& id) {
  auto path = state_dir + "/denied";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    throw std::runtime_error("cannot write " + path);
  auto line = core::format_device_id(id) + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok)
    throw std::runtime_error("cannot write " + path);
}

} // namespace cascade::app
