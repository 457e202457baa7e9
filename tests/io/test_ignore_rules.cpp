// io::ignore_rules and folder::walk's filter on a real directory: what is read, when a reload
// counts as a change, and that a walk never enters an ignored directory.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include <stdlib.h>

#include "io/ignore_rules.hpp"

namespace fs = std::filesystem;
using namespace cascade;

namespace {

struct scratch {
  fs::path dir;
  scratch() {
    std::string t = (fs::temp_directory_path() / "cascade-ignore-io-XXXXXX").string();
    REQUIRE(::mkdtemp(t.data()) != nullptr);
    dir = t;
  }
  ~scratch() { fs::remove_all(dir); }
  void put(const std::string& rel, const std::string& text) {
    fs::create_directories((dir / rel).parent_path());
    std::ofstream(dir / rel) << text;
  }
};

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

} // namespace

TEST_CASE("ignore_rules: read at reload, a change only when the texts change") {
  scratch s;
  io::folder f(s.dir.string());
  io::ignore_rules rules(f);
  CHECK(rules.reload()); // the first read
  CHECK_FALSE(rules.reload());
  CHECK(rules.ignored(".cascadeignore", false)); // local, always
  CHECK_FALSE(rules.ignored("a.tmp", false));

  s.put(".cascadeignore", "*.tmp\n#include shared/list\n");
  CHECK(rules.reload());
  CHECK(rules.ignored("a.tmp", false));
  CHECK(rules.is_source("shared/list")); // missing, but watched for: creating it reloads
  REQUIRE(rules.current()->warnings().size() == 1);

  s.put("shared/list", "node_modules/\n");
  CHECK(rules.reload());
  CHECK(rules.ignored("web/node_modules", true));
  CHECK(rules.current()->warnings().empty());
  CHECK_FALSE(rules.reload()); // touched, same text: no change

  s.put(".cascadeignore", "");
  CHECK(rules.reload());
  CHECK_FALSE(rules.ignored("a.tmp", false));
  CHECK_FALSE(rules.is_source("shared/list"));
}

TEST_CASE("folder::walk skips ignored entries and never enters ignored directories") {
  scratch s;
  s.put(".cascadeignore", "node_modules/\n*.tmp\n");
  s.put("a.txt", "a");
  s.put("b.tmp", "b");
  s.put("src/c.txt", "c");
  s.put("node_modules/x/y.js", "y");
  io::folder f(s.dir.string());
  io::ignore_rules rules(f);
  rules.reload();
  std::vector<std::string> asked;
  f.skip_in_walks([&](std::string_view rel, bool is_dir) {
    asked.emplace_back(rel);
    return rules.ignored(rel, is_dir);
  });
  auto paths = f.walk("");
  std::sort(paths.begin(), paths.end());
  CHECK(paths == std::vector<std::string>{"a.txt", "src", "src/c.txt"});
  CHECK(has(asked, "node_modules"));
  CHECK_FALSE(has(asked, "node_modules/x")); // not entered
}
