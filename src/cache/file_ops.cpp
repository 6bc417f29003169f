#include "cache/file_ops.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "ecr/error.hpp"

namespace ecr::cache {
namespace {

namespace fs = std::filesystem;

// How many random names create_locked_temp tries before giving up; a clash
// needs two 64-bit random names to collide, so more than one retry means the
// directory itself is broken.
constexpr int kTempNameAttempts = 16;

std::string random_name() {
  thread_local std::mt19937_64 rng{(static_cast<std::uint64_t>(std::random_device{}()) << 32) ^
                                   std::random_device{}() ^ static_cast<std::uint64_t>(::getpid())};
  static constexpr char kHex[] = "0123456789abcdef";
  std::uint64_t v = rng();
  std::string out(16, '0');
  for (char& c : out) {
    c = kHex[v & 0xf];
    v >>= 4;
  }
  return out;
}

bool flock_unsupported(int err) { return err == ENOLCK || err == EOPNOTSUPP || err == EINVAL; }

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace

void FileDescriptor::reset() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void throw_io_error(const std::string& what, const fs::path& path) {
  throw InputError("cache: cannot " + what + " " + path.string() + ": " + std::strerror(errno));
}

FileDescriptor open_for_reading(const fs::path& path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid() && errno != ENOENT) throw_io_error("open", path);
  return fd;
}

std::size_t read_some(int fd, std::span<std::byte> out, const fs::path& path) {
  for (;;) {
    ssize_t n = ::read(fd, out.data(), out.size());
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) throw_io_error("read", path);
  }
}

void write_all(int fd, std::span<const std::byte> data, const fs::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_io_error("write", path);
    }
    data = data.subspan(static_cast<std::size_t>(n));
  }
}

void write_all_at(int fd, std::span<const std::byte> data, std::int64_t offset,
                  const fs::path& path) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_io_error("write", path);
    }
    data = data.subspan(static_cast<std::size_t>(n));
    offset += n;
  }
}

std::size_t read_some_at(int fd, std::span<std::byte> out, std::int64_t offset,
                         const fs::path& path) {
  for (;;) {
    ssize_t n = ::pread(fd, out.data(), out.size(), static_cast<off_t>(offset));
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) throw_io_error("read", path);
  }
}

void sync_file(int fd, const fs::path& path) {
  if (::fsync(fd) != 0) throw_io_error("sync", path);
}

void sync_directory(const fs::path& dir) {
  FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) throw_io_error("open directory", dir);
  if (::fsync(fd.get()) != 0 && errno != EINVAL) throw_io_error("sync directory", dir);
}

void make_directories(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    throw InputError("cache: cannot create directory " + dir.string() + ": " + ec.message());
  }
}

TempFile create_locked_temp(const fs::path& dir, const std::string& suffix) {
  for (int attempt = 0; attempt < kTempNameAttempts; ++attempt) {
    fs::path path = dir / (random_name() + suffix);
    FileDescriptor fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!fd.valid()) {
      if (errno == EEXIST) continue;
      throw_io_error("create temp file", path);
    }
    if (::flock(fd.get(), LOCK_EX) != 0) {
      if (flock_unsupported(errno)) return {std::move(fd), path};
      throw_io_error("lock", path);
    }
    // A sweeper may have locked and unlinked the file between our open and
    // flock; then the name no longer leads to our file: start over.
    struct stat by_fd {};
    struct stat by_name {};
    if (::fstat(fd.get(), &by_fd) == 0 && ::stat(path.c_str(), &by_name) == 0 &&
        same_file(by_fd, by_name)) {
      return {std::move(fd), path};
    }
  }
  errno = EEXIST;
  throw_io_error("create a temp file in", dir);
}

bool remove_if_abandoned(const fs::path& path, std::chrono::seconds stale_age) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return false;
  struct stat by_fd {};
  if (::fstat(fd.get(), &by_fd) != 0) return false;
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (!flock_unsupported(errno)) return false;  // EWOULDBLOCK: a live writer holds it
    auto modified = std::chrono::seconds(by_fd.st_mtim.tv_sec);
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::system_clock::now().time_since_epoch());
    if (now - modified < stale_age) return false;
  }
  // A writer that committed renamed its temp away before unlocking: make sure
  // the name still leads to the file we locked before removing it.
  struct stat by_name {};
  if (::stat(path.c_str(), &by_name) != 0 || !same_file(by_fd, by_name)) return false;
  return ::unlink(path.c_str()) == 0;
}

bool remove_if_same_file(const fs::path& path, int fd) {
  struct stat by_fd {};
  struct stat by_name {};
  if (::fstat(fd, &by_fd) != 0 || ::stat(path.c_str(), &by_name) != 0 ||
      !same_file(by_fd, by_name)) {
    return false;
  }
  return ::unlink(path.c_str()) == 0;
}

bool touch(const fs::path& path) {
  if (::utimensat(AT_FDCWD, path.c_str(), nullptr, 0) == 0) return true;
  // LRU order is best effort: a cache shared read-only (EPERM, EACCES, EROFS)
  // still serves its blobs.
  return errno != ENOENT;
}

std::chrono::system_clock::time_point mtime_of(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw_io_error("stat", path);
  auto since_epoch =
      std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec);
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(since_epoch));
}

void replace_file(const fs::path& target, const fs::path& temp_dir, std::string_view contents) {
  TempFile temp = create_locked_temp(temp_dir, ".tmp");
  try {
    write_all(temp.fd.get(), std::as_bytes(std::span(contents.data(), contents.size())), temp.path);
    sync_file(temp.fd.get(), temp.path);
    if (::rename(temp.path.c_str(), target.c_str()) != 0) throw_io_error("rename into", target);
  } catch (...) {
    ::unlink(temp.path.c_str());
    throw;
  }
  sync_directory(target.parent_path());
}

}  // namespace ecr::cache
