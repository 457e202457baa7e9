// The gitignore table: patterns (one a line), a path, whether it is a directory, and git's
// verdict. test_ignore.cpp checks the matcher against it; test_ignore_git.cpp checks that git
// check-ignore agrees with every row (so the table is git's behaviour, not our belief).
#pragma once

#include <vector>

namespace test {

struct ignore_case {
  const char* patterns;
  const char* path;
  bool dir;
  bool ignored;
};

inline const std::vector<ignore_case> ignore_cases = {
    // Plain names match at any depth.
    {"foo", "foo", false, true},
    {"foo", "a/foo", false, true},
    {"foo", "a/b/foo", true, true},
    {"foo", "foobar", false, false},
    {"foo", "a/foo/bar", false, true}, // below an ignored directory
    // '*' and '?' do not cross '/'.
    {"*.tmp", "x.tmp", false, true},
    {"*.tmp", "d/e/x.tmp", false, true},
    {"*.tmp", "x.tmpl", false, false},
    {"*.tmp", ".tmp", false, true},
    {"a*c", "abbc", false, true},
    {"a*c", "ac", false, true},
    {"?.c", "x.c", false, true},
    {"?.c", "xy.c", false, false},
    {"d/*.c", "d/x.c", false, true},
    {"d/*.c", "d/e/x.c", false, false},
    {"d/?/x", "d/a/x", false, true},
    // Character classes.
    {"[abc].txt", "b.txt", false, true},
    {"[abc].txt", "d.txt", false, false},
    {"[a-f]1", "e1", false, true},
    {"[a-f]1", "g1", false, false},
    {"[!a-f]1", "g1", false, true},
    {"[!a-f]1", "a1", false, false},
    {"[^x]y", "zy", false, true},
    {"[]]z", "]z", false, true},
    {"[0-9][0-9].log", "42.log", false, true},
    {"[0-9][0-9].log", "4a.log", false, false},
    // A leading '/' anchors at the root.
    {"/build", "build", true, true},
    {"/build", "src/build", true, false},
    {"/build", "build/obj/x.o", false, true},
    {"/*.c", "x.c", false, true},
    {"/*.c", "d/x.c", false, false},
    // A '/' in the middle anchors too.
    {"doc/frotz", "doc/frotz", false, true},
    {"doc/frotz", "a/doc/frotz", false, false},
    {"a/b", "x/a/b", true, false},
    // A trailing '/' matches directories only.
    {"out/", "out", true, true},
    {"out/", "out", false, false},
    {"out/", "x/out", true, true},
    {"out/", "x/out/y", false, true},
    {"x/out/", "x/out", true, true},
    {"x/out/", "y/x/out", true, false},
    // '**'.
    {"**/foo", "foo", false, true},
    {"**/foo", "a/b/foo", false, true},
    {"**/foo/bar", "x/foo/bar", false, true},
    {"**/foo/bar", "foo/bar", false, true},
    {"abc/**", "abc/x", false, true},
    {"abc/**", "abc/x/y", false, true},
    {"abc/**", "abc", true, false},
    {"abc/**", "abc", false, false},
    {"a/**/b", "a/b", false, true},
    {"a/**/b", "a/x/b", false, true},
    {"a/**/b", "a/x/y/b", false, true},
    {"a/**/b", "a/xb", false, false},
    {"a**b", "axyb", false, true},
    {"a**b", "ax/yb", false, false},
    {"**", "anything/at/all", false, true},
    {"node_modules/**\n!node_modules/keep", "node_modules/keep", false, false},
    // '!' re-includes; later lines win.
    {"*.log\n!keep.log", "keep.log", false, false},
    {"*.log\n!keep.log", "drop.log", false, true},
    {"!keep.log\n*.log", "keep.log", false, true},
    {"*\n!*.c", "x.c", false, false},
    {"*\n!*.c", "x.h", false, true},
    // A file cannot be re-included when a parent directory is excluded.
    {"dir/\n!dir/a", "dir/a", false, true},
    {"dir\n!dir/a", "dir/a", false, true},
    {"dir/*\n!dir/a", "dir/a", false, false},
    {"dir/*\n!dir/a", "dir/b", false, true},
    {"dir/*\n!dir/sub\n", "dir/sub/x", false, false},
    {"*\n!*/\n!*.c", "a/b/x.c", false, false},
    {"*\n!*/\n!*.c", "a/b/x.h", false, true},
    {"*\n!*.c", "a/x.c", false, true}, // "a" itself stays ignored
    // Comments, blanks, escapes, trailing spaces.
    {"# foo\nfoo2", "# foo", false, false},
    {"\\#hash", "#hash", false, true},
    {"\\!bang", "!bang", false, true},
    {"sp   ", "sp", false, true},
    {"sp\\ ", "sp ", false, true},
    {"sp\\ ", "sp", false, false},
    {"a\\*b", "a*b", false, true},
    {"a\\*b", "axb", false, false},
    {"\\[x]", "[x]", false, true},
    {"\n\n*.o\n\n", "k.o", false, true},
    {"*.o", "k.O", false, false}, // case matters
    // Hidden files and dots.
    {".*", ".git", true, true},
    {".*", "a/.hidden", false, true},
    {".*", "a.b", false, false},
    {"*.tar.gz", "x.tar.gz", false, true},
};

} // namespace test
