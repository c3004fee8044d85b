// Writing a whole file so that readers (and a crash) see either the old file or the complete new one,
// never a half-written one: a temporary file in the same folder, flushed to disk, renamed over the path.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace talkgen {

/// Writes `content` to `path` through ".tmp.<pid>.<n>" beside it (so concurrent writers of one path do not
/// clash), fsync()ed before the rename and the folder after it. Throws Error(io_error) naming the path and
/// the system's reason; the temporary file is removed on failure and `path` is left as it was. `mode`:
/// the new file's permissions (before the umask), e.g. 0600 for a user's uploaded media.
void write_file_atomically(const std::string& path, std::string_view content, unsigned mode = 0644);
void write_file_atomically(const std::string& path, const std::vector<std::uint8_t>& bytes, unsigned mode = 0644);

/// fsync()s a folder, so that entries just created or renamed in it survive a crash. Best effort: a folder
/// that cannot be opened is skipped.
void sync_folder(const std::string& folder);

}  // namespace talkgen
