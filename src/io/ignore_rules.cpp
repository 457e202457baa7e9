#include "io/ignore_rules.hpp"

#include <unistd.h>

#include <algorithm>

#include "io/log.hpp"

namespace cascade::io {

namespace {

constexpr std::size_t max_ignore_file = 1 << 20; // a pattern file larger than this is cut

std::optional<std::string> read_small(const folder& root, const std::string& rel) {
  auto st = root.stat(rel);
  if (!st || st->type != core::file_type::file)
    return std::nullopt;
  auto fd = root.open_read(rel);
  if (!fd)
    return std::nullopt;
  std::string text;
  char buf[16384];
  while (text.size() < max_ignore_file) {
    auto n = ::read(fd.get(), buf, sizeof buf);
    if (n <= 0)
      break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  if (text.size() > max_ignore_file)
    text.resize(max_ignore_file);
  return text;
}

} // namespace

ignore_rules::ignore_rules(const folder& root)
    : root_(root), set_(std::make_shared<const core::ignore_set>()) {}

bool ignore_rules::reload() {
  std::string fingerprint;
  auto load = [&](const std::string& rel) {
    auto text = read_small(root_, rel);
    fingerprint += rel + (text ? "\n+" + *text : "\n-") + '\0';
    return text;
  };
  auto top = load(std::string(core::ignore_file_name));
  auto set = std::make_shared<const core::ignore_set>(top ? core::parse_ignores(*top, load)
                                                          : core::ignore_set{});
  bool had_patterns = false;
  {
    std::lock_guard lock(mu_);
    if (fingerprint == fingerprint_)
      return false;
    fingerprint_ = std::move(fingerprint);
    had_patterns = !set_->empty();
    set_ = set;
  }
  if (!top && !had_patterns)
    return true; // no ignore file, as before: nothing to say
  for (auto& w : set->warnings())
    log_warn("ignore patterns: " + w);
  log_info("ignore patterns: " + std::to_string(set->patterns().size()) + " active" +
           (top ? " (from " + std::string(core::ignore_file_name) + ")"
                : " (no " + std::string(core::ignore_file_name) + ")"));
  return true;
}

std::shared_ptr<const core::ignore_set> ignore_rules::current() const {
  std::lock_guard lock(mu_);
  return set_;
}

bool ignore_rules::ignored(std::string_view rel, bool is_dir) const {
  return local_only(rel) || current()->ignored(rel, is_dir);
}

bool ignore_rules::is_source(std::string_view rel) const {
  if (local_only(rel))
    return true;
  auto set = current();
  auto& s = set->sources();
  return std::find(s.begin(), s.end(), rel) != s.end();
}

} // namespace cascade::io
