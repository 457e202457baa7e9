// core::validate_path and the path helpers on arbitrary bytes. A name that passes must be a
// canonical relative path that cannot leave the folder or name our state directory.
#include <string>

#include "core/path.hpp"
#include "fuzz_common.hpp"

using namespace cascade::core;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto p = as_text(data, size);
  auto err = validate_path(p);
  (void)describe(err);
  // The helpers must not crash on anything.
  auto parent = parent_of(p);
  auto base = base_name(p);
  int d = depth(p);
  (void)is_under(p, parent);
  (void)is_under(parent, p);
  if (size > 0) {
    auto half = as_text(data, size / 2);
    (void)is_under(p, half);
  }
  if (err != path_error::ok)
    return 0;
  FUZZ_CHECK(!p.empty() && p.front() != '/' && p.back() != '/');
  FUZZ_CHECK(p.size() <= 4095);
  FUZZ_CHECK(p.find('\0') == std::string_view::npos && p.find('\\') == std::string_view::npos);
  FUZZ_CHECK(p.find("//") == std::string_view::npos);
  // Every component is a plain name.
  int comps = 0;
  std::size_t start = 0;
  while (true) {
    auto slash = p.find('/', start);
    auto c =
        p.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    FUZZ_CHECK(!c.empty() && c != "." && c != ".." && c.size() <= 255);
    for (unsigned char ch : c)
      FUZZ_CHECK(ch >= 0x20 && ch != 0x7f);
    if (comps == 0)
      FUZZ_CHECK(c != state_dir_name);
    ++comps;
    if (slash == std::string_view::npos)
      break;
    start = slash + 1;
  }
  FUZZ_CHECK(d == comps);
  // parent + "/" + base rebuilds the path; the parent is valid too and contains the path.
  if (parent.empty()) {
    FUZZ_CHECK(base == p && d == 1);
  } else {
    FUZZ_CHECK(std::string(parent) + "/" + std::string(base) == p);
    FUZZ_CHECK(validate_path(parent) == path_error::ok);
    FUZZ_CHECK(depth(parent) == d - 1);
    FUZZ_CHECK(is_under(p, parent));
  }
  FUZZ_CHECK(validate_path(base) == path_error::ok || (comps > 1 && base == state_dir_name));
  FUZZ_CHECK(is_under(p, p) && is_under(p, ""));
  // Nothing below a valid path is ever the state directory, and no valid path is absolute
  // once joined under the folder.
  FUZZ_CHECK(!is_under(p, state_dir_name));
  return 0;
}
