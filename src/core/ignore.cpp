#include "core/ignore.hpp"

#include <algorithm>

#include "core/path.hpp"

namespace cascade::core {
namespace {

char fold(char c, bool icase) {
  return icase && c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Matches a bracket expression starting at g[pi] == '['. Returns the index just past its ']',
// or npos if it is unterminated (git's wildmatch then matches nothing). `hit` tells whether `c`
// is in the class.
std::size_t match_class(std::string_view g, std::size_t pi, char c, bool icase, bool& hit) {
  std::size_t i = pi + 1;
  bool negate = false;
  if (i < g.size() && (g[i] == '!' || g[i] == '^')) {
    negate = true;
    ++i;
  }
  bool found = false;
  bool first = true;
  char lower = fold(c, true);
  char upper = c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
  while (i < g.size() && (first || g[i] != ']')) {
    first = false;
    char lo = g[i];
    if (lo == '\\' && i + 1 < g.size())
      lo = g[++i];
    ++i;
    char hi = lo;
    if (i + 1 < g.size() && g[i] == '-' && g[i + 1] != ']') {
      hi = g[i + 1];
      i += 2;
      if (hi == '\\' && i < g.size())
        hi = g[i++];
    }
    auto in = [&](char x) {
      auto u = static_cast<unsigned char>(x);
      return u >= static_cast<unsigned char>(lo) && u <= static_cast<unsigned char>(hi);
    };
    if (in(c) || (icase && (in(lower) || in(upper))))
      found = true;
  }
  if (i >= g.size())
    return std::string_view::npos;
  hit = found != negate;
  return i + 1;
}

// Backtracking matcher with a memo of failed (pattern, subject) positions, so no pattern can
// take more than O(|glob| * |path|) steps.
class matcher {
public:
  matcher(std::string_view g, std::string_view s, bool icase)
      : g_(g), s_(s), icase_(icase), failed_((g.size() + 1) * (s.size() + 1), 0) {}

  bool run(std::size_t pi, std::size_t si) {
    char& memo = failed_[pi * (s_.size() + 1) + si];
    if (memo)
      return false;
    bool ok = step(pi, si);
    if (!ok)
      memo = 1;
    return ok;
  }

private:
  bool step(std::size_t pi, std::size_t si) {
    while (pi < g_.size()) {
      char p = g_[pi];
      if (p == '*') {
        bool dbl = pi + 1 < g_.size() && g_[pi + 1] == '*';
        bool at_start = pi == 0 || g_[pi - 1] == '/';
        if (dbl && at_start && (pi + 2 == g_.size() || g_[pi + 2] == '/')) {
          if (pi + 2 == g_.size())
            return true; // trailing "**": everything below
          // "**/": zero or more whole directories.
          if (run(pi + 3, si))
            return true;
          for (std::size_t i = si; i < s_.size(); ++i)
            if (s_[i] == '/' && run(pi + 3, i + 1))
              return true;
          return false;
        }
        while (pi < g_.size() && g_[pi] == '*')
          ++pi; // "**" elsewhere is a plain '*'
        for (std::size_t i = si;; ++i) {
          if (run(pi, i))
            return true;
          if (i >= s_.size() || s_[i] == '/')
            return false;
        }
      }
      if (si >= s_.size())
        return false;
      char c = s_[si];
      if (p == '?') {
        if (c == '/')
          return false;
      } else if (p == '[') {
        bool hit = false;
        std::size_t next = match_class(g_, pi, c, icase_, hit);
        if (next == std::string_view::npos || c == '/' || !hit)
          return false;
        pi = next;
        ++si;
        continue;
      } else {
        if (p == '\\' && pi + 1 < g_.size())
          p = g_[++pi];
        if (fold(p, icase_) != fold(c, icase_))
          return false;
      }
      ++pi;
      ++si;
    }
    return si == s_.size();
  }

  std::string_view g_, s_;
  bool icase_;
  std::vector<char> failed_;
};

// Trailing spaces go unless escaped with a backslash (git's trim_trailing_spaces).
std::string_view trim_trailing_spaces(std::string_view l) {
  std::size_t end = l.size();
  while (end > 0 && l[end - 1] == ' ') {
    std::size_t backslashes = 0;
    for (std::size_t i = end - 1; i > 0 && l[i - 1] == '\\'; --i)
      ++backslashes;
    if (backslashes % 2 == 1)
      break; // "\ " keeps this space
    --end;
  }
  return l.substr(0, end);
}

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

} // namespace

bool glob_match(std::string_view glob, std::string_view path, bool icase) {
  return matcher(glob, path, icase).run(0, 0);
}

class ignore_parser {
public:
  ignore_parser(ignore_set& out, const ignore_loader& load) : out_(out), load_(load) {}

  void parse(std::string_view text, const std::string& source) {
    stack_.push_back(source);
    remember(source);
    int line_no = 0;
    while (!text.empty()) {
      auto nl = text.find('\n');
      std::string_view line = text.substr(0, nl);
      text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
      ++line_no;
      if (!line.empty() && line.back() == '\r')
        line.remove_suffix(1);
      if (starts_with(line, "#include ") || starts_with(line, "#include\t")) {
        include(line.substr(9), source, line_no);
        continue;
      }
      add(line, source, line_no);
    }
    stack_.pop_back();
  }

private:
  void remember(const std::string& source) {
    auto& s = out_.sources_;
    if (std::find(s.begin(), s.end(), source) == s.end())
      s.push_back(source);
  }

  void warn(const std::string& source, int line, const std::string& what) {
    if (out_.warnings_.size() == max_warnings)
      return; // the first ones tell the story; a flood of them would only cost memory
    out_.warnings_.push_back(source + ":" + std::to_string(line) + ": " + what);
  }

  void include(std::string_view arg, const std::string& source, int line) {
    while (!arg.empty() && (arg.front() == ' ' || arg.front() == '\t'))
      arg.remove_prefix(1);
    arg = trim_trailing_spaces(arg);
    std::string file(arg);
    if (validate_path(file) != path_error::ok) {
      warn(source, line, "#include " + printable(file) + ": not a path inside the folder");
      return;
    }
    if (std::find(stack_.begin(), stack_.end(), file) != stack_.end()) {
      warn(source, line, "#include " + printable(file) + ": includes itself (cycle), skipped");
      return;
    }
    if (static_cast<int>(stack_.size()) > ignore_max_include_depth) {
      warn(source, line, "#include " + printable(file) + ": nested too deeply, skipped");
      return;
    }
    if (includes_ == ignore_max_includes) {
      warn(source, line, "#include " + printable(file) + ": too many includes (at most " +
                             std::to_string(ignore_max_includes) + "), skipped");
      return;
    }
    ++includes_;
    remember(file); // even when missing: creating it later must reload
    auto text = load_ ? load_(file) : std::nullopt;
    if (!text) {
      warn(source, line, "#include " + printable(file) + ": cannot read it, skipped");
      return;
    }
    parse(*text, file);
  }

  void add(std::string_view line, const std::string& source, int line_no) {
    if (line.empty() || line.front() == '#')
      return;
    line = trim_trailing_spaces(line);
    ignore_pattern p;
    p.source = source;
    p.line = line_no;
    p.text = std::string(line);
    for (bool more = true; more;) {
      more = false;
      if (!p.negate && starts_with(line, "!")) {
        p.negate = more = true;
        line.remove_prefix(1);
      }
      if (!p.icase && starts_with(line, "(?i)")) {
        p.icase = more = true;
        line.remove_prefix(4);
      }
    }
    if (!line.empty() && line.back() == '/' &&
        !(line.size() >= 2 && line[line.size() - 2] == '\\')) {
      p.dir_only = true;
      line.remove_suffix(1);
    }
    p.anchored = line.find('/') != std::string_view::npos;
    if (starts_with(line, "/"))
      line.remove_prefix(1);
    if (line.empty())
      return;
    if (out_.patterns_.size() == static_cast<std::size_t>(ignore_max_patterns)) {
      warn(source, line_no, "too many patterns (at most " +
                                std::to_string(ignore_max_patterns) + "), the rest skipped");
      return;
    }
    p.glob = std::string(line);
    out_.patterns_.push_back(std::move(p));
  }

  static constexpr std::size_t max_warnings = 100;

  ignore_set& out_;
  const ignore_loader& load_;
  std::vector<std::string> stack_;
  int includes_ = 0;
};

ignore_set parse_ignores(std::string_view text, const ignore_loader& load, std::string source) {
  ignore_set set;
  ignore_parser(set, load).parse(text, source);
  return set;
}

int ignore_set::verdict(std::string_view rel, bool is_dir) const {
  std::string_view name = base_name(rel);
  for (auto it = patterns_.rbegin(); it != patterns_.rend(); ++it) {
    if (it->dir_only && !is_dir)
      continue;
    if (glob_match(it->glob, it->anchored ? rel : name, it->icase))
      return it->negate ? -1 : 1;
  }
  return 0;
}

bool ignore_set::ignored(std::string_view rel, bool is_dir) const {
  if (patterns_.empty() || rel.empty())
    return false;
  for (std::size_t i = rel.find('/'); i != std::string_view::npos; i = rel.find('/', i + 1))
    if (verdict(rel.substr(0, i), true) > 0)
      return true;
  return verdict(rel, is_dir) > 0;
}

} // namespace cascade::core
