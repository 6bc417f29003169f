#include "cache/file_ops.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/file.hpp"
#include "ecr/error.hpp"

namespace ecr::cache {
namespace {

namespace fs = std::filesystem;

bool flock_unsupported(int err) { return err == ENOLCK || err == EOPNOTSUPP || err == EINVAL; }

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace

void make_directories(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    throw InputError("cache: cannot create directory " + dir.string() + ": " + ec.message());
  }
}

bool remove_if_abandoned(const fs::path& path, std::chrono::seconds stale_age) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
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
  if (::stat(path.c_str(), &st) != 0) throw_file_error("stat", path);
  auto since_epoch =
      std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec);
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(since_epoch));
}

void replace_file(const fs::path& target, const fs::path& temp_dir, std::string_view contents) {
  TempFile temp = TempFile::create_locked(temp_dir, ".tmp");
  temp.write(contents);
  temp.commit(target);
}

}  // namespace ecr::cache
