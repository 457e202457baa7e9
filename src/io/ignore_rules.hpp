// The folder's ignore patterns (DIR/.cascadeignore and the files it #includes), shared by the
// watcher's thread, the index and the console: read at start and again whenever the watcher
// sees one of their files change. Thread-safe: a reload swaps in a new immutable set.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/ignore.hpp"
#include "io/folder.hpp"

namespace cascade::io {

class ignore_rules {
public:
  explicit ignore_rules(const folder& root);

  // Reads the ignore file and its includes again; true if what they say changed. Warnings
  // (a missing include, a cycle) are logged once per reload that changed something.
  bool reload();

  std::shared_ptr<const core::ignore_set> current() const;

  // True for .cascadeignore itself (each node's own: never announced, never applied) and for
  // every path its patterns ignore.
  bool ignored(std::string_view rel, bool is_dir) const;
  // True if `rel` is the ignore file or a file it includes (a change to it reloads).
  bool is_source(std::string_view rel) const;

  static bool local_only(std::string_view rel) { return rel == core::ignore_file_name; }

private:
  const folder& root_;
  mutable std::mutex mu_;
  std::shared_ptr<const core::ignore_set> set_;
  std::string fingerprint_; // the texts read, to tell a real change from a touch
};

} // namespace cascade::io
