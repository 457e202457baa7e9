// Checks every row of the ignore table against git itself: a scratch repository per row with the
// row's patterns as .gitignore and the row's path created on disk (git tells files from
// directories by looking), asked through `git check-ignore --no-index -v -n -z --stdin`.
// (?i) and #include are cascade's own (git lacks them): test_ignore.cpp covers them.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "ignore_cases.hpp"

namespace fs = std::filesystem;

namespace {

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p)
    return out;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0)
    out.append(buf, n);
  pclose(p);
  return out;
}

// git's verdict for one row: the fields are source, line, pattern, path (NUL-separated); an empty
// pattern means no match and a '!' pattern means re-included.
bool git_ignores(const fs::path& repo, const test::ignore_case& c) {
  std::ofstream(repo / ".gitignore") << c.patterns << "\n";
  fs::path p = repo / c.path;
  if (c.dir) {
    fs::create_directories(p);
  } else {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << "x";
  }
  std::ofstream(repo / "query", std::ios::binary) << c.path << '\0';
  std::string out = run("cd '" + repo.string() +
                        "' && HOME=. XDG_CONFIG_HOME=. GIT_CONFIG_NOSYSTEM=1 git check-ignore "
                        "--no-index -v -n -z --stdin < query");
  std::vector<std::string> fields;
  std::size_t start = 0;
  for (std::size_t i = 0; i < out.size(); ++i)
    if (out[i] == '\0') {
      fields.push_back(out.substr(start, i - start));
      start = i + 1;
    }
  REQUIRE_MESSAGE(fields.size() == 4, "git check-ignore answered: " << out);
  CHECK(fields[3] == c.path);
  return !fields[2].empty() && fields[2][0] != '!';
}

} // namespace

TEST_CASE("ignore: git check-ignore agrees with every row of the table") {
  REQUIRE_MESSAGE(std::system("git --version > /dev/null 2>&1") == 0,
                  "git is needed (tools/install-deps installs it)");
  char tmpl[] = "/tmp/cascade-ignore-git-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  fs::path base(tmpl);
  int n = 0;
  for (const auto& c : test::ignore_cases) {
    fs::path repo = base / std::to_string(n++);
    fs::create_directories(repo);
    REQUIRE(std::system(("git init -q '" + repo.string() + "'").c_str()) == 0);
    CAPTURE(c.patterns);
    CAPTURE(c.path);
    CAPTURE(c.dir);
    CHECK(git_ignores(repo, c) == c.ignored);
  }
  fs::remove_all(base);
}
