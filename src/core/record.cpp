#include "core/record.hpp"

namespace cascade::core {

bool same_content(const file_record& a, const file_record& b) {
  // Version, sequence, modifier and path say who and where, not what: leave them out so two
  // devices that made the same change can recognise it.
  return a.type == b.type && a.size == b.size && a.mtime_ns == b.mtime_ns && a.mode == b.mode &&
         a.deleted == b.deleted && a.chunks == b.chunks && a.symlink_target == b.symlink_target;
}

} // namespace cascade::core
