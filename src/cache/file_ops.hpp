// POSIX file operations the cache needs and std::filesystem does not give:
// fsync of files and directories, flock, atomic replace, nanosecond mtimes.
// Failures throw InputError naming the path and strerror(errno).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace ecr::cache {

// An owned file descriptor, closed on destruction.
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) noexcept : fd_(fd) {}
  ~FileDescriptor() { reset(); }
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(other.release()) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = other.release();
    }
    return *this;
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  int release() noexcept {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset() noexcept;

 private:
  int fd_ = -1;
};

[[noreturn]] void throw_io_error(const std::string& what, const std::filesystem::path& path);

// Opens for reading; an invalid descriptor (no throw) when the file is absent.
FileDescriptor open_for_reading(const std::filesystem::path& path);
// Reads up to out.size() bytes (retrying EINTR); 0 at the end.
std::size_t read_some(int fd, std::span<std::byte> out, const std::filesystem::path& path);
void write_all(int fd, std::span<const std::byte> data, const std::filesystem::path& path);
// Writes all of `data` at `offset` (pwrite; safe from several threads at once
// for disjoint ranges).
void write_all_at(int fd, std::span<const std::byte> data, std::int64_t offset,
                  const std::filesystem::path& path);
// Reads up to out.size() bytes at `offset` (pread, retrying EINTR); 0 at the end.
std::size_t read_some_at(int fd, std::span<std::byte> out, std::int64_t offset,
                         const std::filesystem::path& path);
void sync_file(int fd, const std::filesystem::path& path);
// fsync of a directory, so a rename or unlink in it survives a crash.
void sync_directory(const std::filesystem::path& dir);
// Creates `dir` and its parents.
void make_directories(const std::filesystem::path& dir);

// A new, empty file in `dir` with a random name ending in `suffix`, opened
// read-write and held under an exclusive flock (when the filesystem supports
// flock). Returns the descriptor and its path.
struct TempFile {
  FileDescriptor fd;
  std::filesystem::path path;
};
TempFile create_locked_temp(const std::filesystem::path& dir, const std::string& suffix);

// Removes `path` when it is a temp file nobody holds (or, where flock is not
// supported, when its mtime is older than `stale_age`). Returns whether it did.
bool remove_if_abandoned(const std::filesystem::path& path, std::chrono::seconds stale_age);

// Unlinks `path` when it still names the file open as `fd` (another writer
// may have renamed a fresh copy over it meanwhile). Returns whether it did.
bool remove_if_same_file(const std::filesystem::path& path, int fd);

// Sets the file's mtime to now when permitted; false only when the file is gone.
bool touch(const std::filesystem::path& path);

std::chrono::system_clock::time_point mtime_of(const std::filesystem::path& path);

// Writes `contents` to `target` atomically: temp file in `temp_dir` (same
// filesystem), fsync, rename over target, fsync target's directory.
void replace_file(const std::filesystem::path& target, const std::filesystem::path& temp_dir,
                  std::string_view contents);

}  // namespace ecr::cache
