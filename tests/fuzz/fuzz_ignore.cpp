// core::parse_ignores and the matcher on arbitrary pattern text (a .cascadeignore is local, but
// an #include'd file syncs from peers, so its text is a peer's input). The input is split at
// the first NUL: patterns before it, a path to match after it. Properties: nothing crashes,
// matching stays fast (memoised), the root is never ignored, and a path below an ignored
// directory is ignored.
#include <string>

#include "core/ignore.hpp"
#include "fuzz_common.hpp"

using namespace cascade::core;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto in = as_text(data, size);
  auto nul = in.find('\0');
  auto text = in.substr(0, nul);
  std::string path = nul == std::string_view::npos ? "a/b.c" : std::string(in.substr(nul + 1));
  int loads = 0;
  auto set = parse_ignores(text, [&](const std::string&) -> std::optional<std::string> {
    ++loads; // every include reads the same text again: depth and cycles must bound it
    FUZZ_CHECK(loads < 100000);
    return std::string(text);
  });
  FUZZ_CHECK(!set.ignored("", true));
  bool dir = set.ignored(path, true);
  (void)set.ignored(path, false);
  if (dir && !path.empty()) {
    FUZZ_CHECK(set.ignored(path + "/x", false));
    FUZZ_CHECK(set.ignored(path + "/x/y", true));
  }
  for (auto& p : set.patterns())
    (void)glob_match(p.glob, path, p.icase);
  return 0;
}
