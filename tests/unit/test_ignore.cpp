#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "core/ignore.hpp"
#include "ignore_cases.hpp"

using namespace cascade::core;

namespace {

ignore_set parse(const std::string& text, const std::map<std::string, std::string>& files = {}) {
  return parse_ignores(text, [&](const std::string& rel) -> std::optional<std::string> {
    auto it = files.find(rel);
    if (it == files.end())
      return std::nullopt;
    return it->second;
  });
}

} // namespace

TEST_CASE("ignore: the gitignore table") {
  REQUIRE(test::ignore_cases.size() >= 60);
  for (const auto& c : test::ignore_cases) {
    CAPTURE(c.patterns);
    CAPTURE(c.path);
    CAPTURE(c.dir);
    CHECK(parse(c.patterns).ignored(c.path, c.dir) == c.ignored);
  }
}

TEST_CASE("ignore: (?i) makes a pattern case-insensitive") {
  auto s = parse("(?i)*.TMP\n(?i)/Build/\n!(?i)keep.tmp\n(?i)[a-c]X\n");
  CHECK(s.ignored("a.tmp", false));
  CHECK(s.ignored("d/A.Tmp", false));
  CHECK(s.ignored("build", true));
  CHECK(s.ignored("BUILD/x", false));
  CHECK_FALSE(s.ignored("d/build", true)); // anchored
  CHECK_FALSE(s.ignored("KEEP.TMP", false));
  CHECK(s.ignored("Bx", false));
  CHECK(s.ignored("bX", false));
  CHECK_FALSE(s.ignored("dx", false));
  // Without (?i) case matters.
  auto t = parse("*.TMP\n");
  CHECK(t.ignored("a.TMP", false));
  CHECK_FALSE(t.ignored("a.tmp", false));
}

TEST_CASE("ignore: #include reads patterns relative to the folder, later lines still win") {
  auto s = parse("*.log\n#include shared/ignores\n!keep.o\n",
                 {{"shared/ignores", "*.o\n!*.log\n#include shared/more\n"},
                  {"shared/more", "node_modules/\n"}});
  CHECK(s.ignored("a.o", false));
  CHECK_FALSE(s.ignored("keep.o", false));
  CHECK_FALSE(s.ignored("x.log", false)); // the include re-included it after line 1
  CHECK(s.ignored("web/node_modules", true));
  CHECK(s.warnings().empty());
  CHECK(s.sources() == std::vector<std::string>{".cascadeignore", "shared/ignores", "shared/more"});
  REQUIRE(s.patterns().size() == 5);
  CHECK(s.patterns()[1].source == "shared/ignores");
  CHECK(s.patterns()[1].line == 1);
  CHECK(s.patterns()[3].source == "shared/more");
  CHECK(s.patterns()[4].line == 3);
}

TEST_CASE("ignore: a missing, cyclic, deep or escaping include is a warning, not a failure") {
  auto missing = parse("#include nothere\n*.a\n");
  CHECK(missing.ignored("x.a", false));
  REQUIRE(missing.warnings().size() == 1);
  CHECK(missing.warnings()[0].find(".cascadeignore:1: #include nothere") == 0);
  CHECK(missing.sources() == std::vector<std::string>{".cascadeignore", "nothere"});

  auto cycle = parse("#include a\n", {{"a", "*.x\n#include b\n"}, {"b", "#include a\n*.y\n"}});
  CHECK(cycle.ignored("1.x", false));
  CHECK(cycle.ignored("1.y", false));
  REQUIRE(cycle.warnings().size() == 1);
  CHECK(cycle.warnings()[0].find("b:1: #include a: includes itself") == 0);

  auto self = parse("#include .cascadeignore\n*.z\n");
  CHECK(self.ignored("q.z", false));
  CHECK(self.warnings().size() == 1);

  std::map<std::string, std::string> chain;
  for (int i = 0; i < 20; ++i)
    chain["f" + std::to_string(i)] =
        "p" + std::to_string(i) + "\n#include f" + std::to_string(i + 1) + "\n";
  auto deep = parse("#include f0\n", chain);
  CHECK(deep.ignored("p0", false));
  CHECK(deep.ignored("p7", false));
  CHECK_FALSE(deep.ignored("p8", false));
  REQUIRE(deep.warnings().size() == 1);
  CHECK(deep.warnings()[0].find("nested too deeply") != std::string::npos);

  for (const char* bad : {"#include /etc/passwd\n", "#include ../x\n", "#include .cascade/x\n"}) {
    auto s = parse(bad, {{"../x", "*\n"}});
    CHECK(s.empty());
    CHECK(s.warnings().size() == 1);
  }
}

TEST_CASE("ignore: includes that fan out are bounded in total, not only in depth") {
  // An included file syncs from peers, so its text is a peer's input: two includes a level,
  // eight levels deep, would otherwise read 2^9 - 1 files (the fuzzer found eight a level).
  std::map<std::string, std::string> tree;
  int loads = 0;
  for (int i = 0; i < 10; ++i)
    tree["l" + std::to_string(i)] = "p" + std::to_string(i) + "\n#include l" +
                                    std::to_string(i + 1) + "\n#include l" +
                                    std::to_string(i + 1) + "\n";
  auto s = parse_ignores("#include l0\n", [&](const std::string& rel) -> std::optional<std::string> {
    ++loads;
    auto it = tree.find(rel);
    return it == tree.end() ? std::nullopt : std::optional<std::string>(it->second);
  });
  CHECK(loads == ignore_max_includes);
  CHECK(s.ignored("p0", false));
  CHECK(s.patterns().size() == static_cast<std::size_t>(ignore_max_includes));
  REQUIRE_FALSE(s.warnings().empty());
  CHECK(s.warnings().back().find("too many includes") != std::string::npos);

  std::string many;
  for (int i = 0; i < ignore_max_patterns + 5; ++i)
    many += "p" + std::to_string(i) + "\n";
  auto capped = parse(many);
  CHECK(capped.patterns().size() == static_cast<std::size_t>(ignore_max_patterns));
  CHECK(capped.ignored("p0", false));
  CHECK_FALSE(capped.ignored("p" + std::to_string(ignore_max_patterns), false));
  CHECK(capped.warnings().size() == 5);
}

TEST_CASE("ignore: patterns keep their source text; nonsense is harmless") {
  auto s = parse("# comment\n\n  \n!\n/\n*.tmp   \nbuild/\r\n[unterminated\n");
  REQUIRE(s.patterns().size() == 3);
  CHECK(s.patterns()[0].text == "*.tmp");
  CHECK(s.patterns()[0].line == 6);
  CHECK(s.patterns()[1].dir_only);
  CHECK(s.patterns()[1].glob == "build");
  CHECK_FALSE(s.ignored("[unterminated", false)); // git: an unterminated class matches nothing
  CHECK(s.ignored("build", true));
  CHECK_FALSE(s.ignored("", true)); // the root is never ignored
  // Many stars against a long name stay fast (memoised backtracking).
  std::string name(4000, 'a');
  CHECK_FALSE(glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*b", name));
  CHECK(glob_match("**/x/**", "a/b/x/c/d"));
}
