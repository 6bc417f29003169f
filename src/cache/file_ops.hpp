// What the cache needs beyond core/file.hpp: sweeping the temp files of killed
// writers (flock, or mtime where flock is missing), removing a blob only while
// its name still leads to the file checked, and nanosecond mtimes for LRU.
// Failures throw InputError naming the path and strerror(errno).
#pragma once

#include <chrono>
#include <filesystem>
#include <string_view>

namespace ecr::cache {

// Creates `dir` and its parents.
void make_directories(const std::filesystem::path& dir);

// Removes `path` when it is a temp file nobody holds (or, where flock is not
// supported, when its mtime is older than `stale_age`). Returns whether it did.
bool remove_if_abandoned(const std::filesystem::path& path, std::chrono::seconds stale_age);

// Unlinks `path` when it still names the file open as `fd` (another writer
// may have renamed a fresh copy over it meanwhile). Returns whether it did.
bool remove_if_same_file(const std::filesystem::path& path, int fd);

// Sets the file's mtime to now when permitted; false only when the file is gone.
bool touch(const std::filesystem::path& path);

std::chrono::system_clock::time_point mtime_of(const std::filesystem::path& path);

// Writes `contents` to `target` atomically through a locked temp file in
// `temp_dir` (same filesystem, swept by BlobCache::sweep_temps if we die):
// fsync, rename over target, fsync target's directory.
void replace_file(const std::filesystem::path& target, const std::filesystem::path& temp_dir,
                  std::string_view contents);

}  // namespace ecr::cache
