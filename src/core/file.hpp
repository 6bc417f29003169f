// Platform file I/O, written once (LevelDB's env_posix idea): an owned
// descriptor, a temp file that vanishes unless committed, an atomic write of a
// whole small file, directory sync. Every descriptor is opened O_CLOEXEC, so a
// spawned helper (credential_process) never inherits one; every read and write
// retries EINTR. Failures throw InputError naming the path and strerror(errno).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "ecr/digest.hpp"

namespace ecr {

// An owned file descriptor, closed exactly once: on destruction or reset().
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  // Gives up ownership: the caller closes the returned descriptor.
  int release() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  // Closes the held descriptor (if any) and holds `fd` instead.
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

// Throws InputError "cannot <what> <path>: <strerror(errno)>".
[[noreturn]] void throw_file_error(std::string_view what, const std::filesystem::path& path);

// Opens `path` with `flags` | O_CLOEXEC. Throws InputError.
UniqueFd open_file(const std::filesystem::path& path, int flags, mode_t mode = 0644);
// Opens `path` read-only; an invalid UniqueFd, not an error, when it does not
// exist. Throws InputError on any other failure.
UniqueFd open_if_exists(const std::filesystem::path& path);
// Opens `path` read-only, refusing anything that is not a regular file (a FIFO
// or a device would block or never end). Throws InputError.
UniqueFd open_regular_file(const std::filesystem::path& path);
std::int64_t file_size(int fd, const std::filesystem::path& path);

// Reads up to out.size() bytes; 0 at the end of the file.
std::size_t read_some(int fd, std::span<std::byte> out, const std::filesystem::path& path);
// Reads up to out.size() bytes at `offset` (pread); 0 at the end of the file.
std::size_t read_some_at(int fd, std::span<std::byte> out, std::int64_t offset,
                         const std::filesystem::path& path);
void write_all(int fd, std::span<const std::byte> data, const std::filesystem::path& path);
// Writes all of `data` at `offset` (pwrite): safe from several threads at
// once for disjoint ranges. Such threads should take turns on a mutex of
// their own around it: ext4 lets one buffered writer of a file in at a time
// (the inode's lock), and a writer waiting for that lock spins on its CPU
// while the holder copies, which was 10% of a pull's CPU with four download
// workers writing one big layer; a writer waiting on a mutex sleeps.
void write_all_at(int fd, std::span<const std::byte> data, std::int64_t offset,
                  const std::filesystem::path& path);
void sync_file(int fd, const std::filesystem::path& path);

// The SHA-256 of the first `limit` bytes of the file open as `fd` (all of it
// by default), read from its byte 0 (pread: the descriptor's position is not
// used), and how many bytes that was: fewer than `limit` when the file is
// shorter. Throws InputError naming `path`.
struct FileDigest {
  Digest digest;
  std::int64_t size = 0;
};
FileDigest hash_file(int fd, const std::filesystem::path& path,
                     std::int64_t limit = std::numeric_limits<std::int64_t>::max());
// Gives an empty file its full `size` before it is written at any offsets
// (ranged downloads, an archive written in place): its blocks reserved at
// once (fallocate), so a full disk fails now rather than mid-transfer and
// the writes that follow only copy, with no delayed allocation per page;
// a sparse file where the filesystem cannot (tmpfs before 5.x, NFS). Every
// byte not yet written reads as zero. Throws InputError naming `path`.
void allocate_file(int fd, std::int64_t size, const std::filesystem::path& path);
// Drops a file's pages from the page cache 32 MiB behind a frontier its
// writers move on, in steps of at least 8 MiB cut to whole 2 MiB folios, so
// a large download keeps refilling the pages it freed moments ago. On a VM
// whose balloon hands freed memory back to its host (virtio-balloon free
// page reporting, as on this project's bench VM), a page the guest has not
// used lately costs a fault on the host when first touched: 0.7 CPU s per
// GB (docs/performance.md, "2026-12-04 23:40"). Thread-safe; only a hint.
class DropBehind {
 public:
  // Nothing before `from` is dropped.
  explicit DropBehind(std::int64_t from) : dropped_(from) {}
  // `frontier`: the bytes from `from` to here are written whole, their
  // writeback started, and they will not be read again by the writers (32
  // MiB later the writeback has ended: the pages are clean and go at once).
  void advance(int fd, std::int64_t frontier) noexcept;

 private:
  std::atomic<std::int64_t> dropped_;
};

// fsync of a directory, so that a rename or unlink in it survives a crash.
void sync_directory(const std::filesystem::path& dir);
// Makes the file open as `fd` at `from` durable under the name `to`: fsync,
// rename (replacing `to`), fsync of to's directory. `from` and `to` must be on
// one filesystem. Throws InputError; `from` is left in place on failure.
void rename_durably(int fd, const std::filesystem::path& from, const std::filesystem::path& to);

// A new file that is removed again unless committed, so neither an error nor
// an exception unwinding past it leaves a partial file behind.
class TempFile {
 public:
  // Creates "<final_path>.tmp-<random>" next to `final_path` (one directory,
  // so commit's rename is atomic), opened read-write with `mode` (less the
  // umask) from its first moment, so a private file is never readable by
  // others, not even empty. Throws InputError.
  explicit TempFile(const std::filesystem::path& final_path, mode_t mode = 0644);
  // Creates "<random><suffix>" in `dir`, opened read-write and held under an
  // exclusive flock until committed or removed (where the filesystem supports
  // flock), so that a sweeper can tell a live writer's file from one a killed
  // process left (see the cache's remove_if_abandoned). Throws InputError.
  static TempFile create_locked(const std::filesystem::path& dir, std::string_view suffix);

  // Removes the file unless it was committed.
  ~TempFile() { remove(); }
  TempFile(TempFile&& other) noexcept;
  TempFile& operator=(TempFile&& other) noexcept;
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  int fd() const noexcept { return fd_.get(); }
  const std::filesystem::path& path() const noexcept { return path_; }

  void write(std::span<const std::byte> data) { write_all(fd_.get(), data, path_); }
  void write(std::string_view data) { write(std::as_bytes(std::span(data.data(), data.size()))); }

  // Makes the file `target` (rename_durably), then closes it; a flock is
  // released only after the rename. Throws InputError, and the file is then
  // still removed on destruction.
  void commit(const std::filesystem::path& target);
  // Removes the file now and closes it; nothing after a commit.
  void remove() noexcept;

 private:
  TempFile(UniqueFd fd, std::filesystem::path path) noexcept
      : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::filesystem::path path_;  // empty once committed or removed
};

// A new file next to `final_path` with no name until commit() gives it one
// (O_TMPFILE), so a crash or kill at any moment leaves nothing behind: the
// kernel frees it with its descriptor. Where the filesystem cannot make
// unnamed files it is a TempFile ("<final_path>.tmp-<random>", removed on
// destruction unless committed). For files big enough that one left behind
// by a killed process matters (an archive laid out at its full size).
class UnnamedTempFile {
 public:
  // Throws InputError.
  explicit UnnamedTempFile(const std::filesystem::path& final_path);
  UnnamedTempFile(const UnnamedTempFile&) = delete;
  UnnamedTempFile& operator=(const UnnamedTempFile&) = delete;

  int fd() const noexcept { return named_ ? named_->fd() : fd_.get(); }
  // What the file is called in error messages.
  const std::filesystem::path& path() const noexcept { return named_ ? named_->path() : shown_; }
  // Makes the file `target` durably: fsync, a name next to it (linkat), an
  // atomic rename over `target`, a sync of the directory; then closes it.
  // Throws InputError, and nothing is left at a temp name then.
  void commit(const std::filesystem::path& target);

 private:
  std::optional<TempFile> named_;  // where O_TMPFILE is not supported
  UniqueFd fd_;
  std::filesystem::path shown_;
};

// Writes `contents` to `path` through a TempFile next to it: readers see the
// old content or the new one, and after a crash find one of them, never a mix.
// The file gets `mode` (less the umask). Throws InputError.
void write_file_atomically(const std::filesystem::path& path, std::string_view contents,
                           mode_t mode = 0644);

}  // namespace ecr
