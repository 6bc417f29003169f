#include "core/file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

#include "core/thread_buffer.hpp"
#include "ecr/error.hpp"

namespace ecr {
namespace {

namespace fs = std::filesystem;

// Tags the buffer hash_file() reads through (core/thread_buffer.hpp).
struct FileHash;

// How many random names a temp file tries before giving up; a clash needs two
// 64-bit random names to collide, so more than one retry means the directory
// itself is broken.
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

// Creates a file that did not exist, under the first free name `name()` gives.
template <class NameFn>
std::pair<UniqueFd, fs::path> create_new(NameFn name, const fs::path& where, mode_t mode = 0644) {
  for (int attempt = 0; attempt < kTempNameAttempts; ++attempt) {
    fs::path path = name();
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (fd.valid()) return {std::move(fd), std::move(path)};
    if (errno != EEXIST) throw_file_error("create temp file", path);
  }
  errno = EEXIST;
  throw_file_error("create a temp file for", where);
}

}  // namespace

void UniqueFd::reset(int fd) noexcept {
  // close() is not retried on EINTR: Linux has released the descriptor even
  // then, and a retry could close one another thread has just opened.
  if (fd_ >= 0 && fd_ != fd) ::close(fd_);
  fd_ = fd;
}

void throw_file_error(std::string_view what, const fs::path& path) {
  throw InputError("cannot " + std::string(what) + " " + path.string() + ": " +
                   std::strerror(errno));
}

UniqueFd open_file(const fs::path& path, int flags, mode_t mode) {
  UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC, mode));
  if (!fd.valid()) throw_file_error("open", path);
  return fd;
}

UniqueFd open_if_exists(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid() && errno != ENOENT) throw_file_error("open", path);
  return fd;
}

UniqueFd open_regular_file(const fs::path& path) {
  UniqueFd fd = open_file(path, O_RDONLY | O_NONBLOCK);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    throw InputError(path.string() + " is not a regular file");
  }
  // O_NONBLOCK only kept open() from hanging on a FIFO; regular files ignore it.
  ::fcntl(fd.get(), F_SETFL, 0);
  return fd;
}

std::int64_t file_size(int fd, const fs::path& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_file_error("stat", path);
  return st.st_size;
}

std::size_t read_some(int fd, std::span<std::byte> out, const fs::path& path) {
  for (;;) {
    const ssize_t n = ::read(fd, out.data(), out.size());
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) throw_file_error("read", path);
  }
}

std::size_t read_some_at(int fd, std::span<std::byte> out, std::int64_t offset,
                         const fs::path& path) {
  for (;;) {
    const ssize_t n = ::pread(fd, out.data(), out.size(), static_cast<off_t>(offset));
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) throw_file_error("read", path);
  }
}

void write_all(int fd, std::span<const std::byte> data, const fs::path& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_file_error("write", path);
    }
    data = data.subspan(static_cast<std::size_t>(n));
  }
}

void write_all_at(int fd, std::span<const std::byte> data, std::int64_t offset,
                  const fs::path& path) {
  while (!data.empty()) {
    const ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_file_error("write", path);
    }
    data = data.subspan(static_cast<std::size_t>(n));
    offset += n;
  }
}

FileDigest hash_file(int fd, const fs::path& path, std::int64_t limit) {
  // Large enough that the syscalls vanish next to SHA-256 (1 MiB reads
  // measured no faster), small enough to stay in the CPU's cache.
  constexpr std::int64_t kHashReadBytes = 256 * 1024;
  const std::span<std::byte> buffer = thread_buffer<FileHash>(kHashReadBytes);
  Sha256 sha;
  std::int64_t done = 0;
  while (done < limit) {
    const auto want = static_cast<std::size_t>(std::min(limit - done, kHashReadBytes));
    const std::size_t n = read_some_at(fd, std::span(buffer.data(), want), done, path);
    if (n == 0) break;
    sha.update(buffer.data(), n);
    done += static_cast<std::int64_t>(n);
  }
  return {sha.finish(), done};
}

void sync_file(int fd, const fs::path& path) {
  if (::fsync(fd) != 0) throw_file_error("sync", path);
}

void sync_directory(const fs::path& dir) {
  const UniqueFd fd = open_file(dir, O_RDONLY | O_DIRECTORY);
  // EINVAL: a filesystem that cannot sync directories (some FUSE mounts) has
  // nothing to make durable.
  if (::fsync(fd.get()) != 0 && errno != EINVAL) throw_file_error("sync directory", dir);
}

void rename_durably(int fd, const fs::path& from, const fs::path& to) {
  sync_file(fd, from);
  if (::rename(from.c_str(), to.c_str()) != 0) throw_file_error("rename into", to);
  sync_directory(to.parent_path());
}

TempFile::TempFile(const fs::path& final_path, mode_t mode) {
  auto [created, name] = create_new(
      [&] { return fs::path(final_path.string() + ".tmp-" + random_name()); }, final_path, mode);
  fd_ = std::move(created);
  path_ = std::move(name);
}

TempFile TempFile::create_locked(const fs::path& dir, std::string_view suffix) {
  for (int attempt = 0; attempt < kTempNameAttempts; ++attempt) {
    auto [created, name] =
        create_new([&] { return dir / (random_name() + std::string(suffix)); }, dir);
    if (::flock(created.get(), LOCK_EX) != 0) {
      if (flock_unsupported(errno)) return TempFile(std::move(created), std::move(name));
      const int err = errno;
      ::unlink(name.c_str());
      errno = err;
      throw_file_error("lock", name);
    }
    // A sweeper may have locked and unlinked the file between our open and
    // flock; then the name no longer leads to our file: start over.
    struct stat by_fd {};
    struct stat by_name {};
    if (::fstat(created.get(), &by_fd) == 0 && ::stat(name.c_str(), &by_name) == 0 &&
        same_file(by_fd, by_name)) {
      return TempFile(std::move(created), std::move(name));
    }
  }
  errno = EEXIST;
  throw_file_error("create a temp file in", dir);
}

TempFile::TempFile(TempFile&& other) noexcept
    : fd_(std::move(other.fd_)), path_(std::exchange(other.path_, {})) {}

TempFile& TempFile::operator=(TempFile&& other) noexcept {
  if (this != &other) {
    remove();
    fd_ = std::move(other.fd_);
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

void TempFile::commit(const fs::path& target) {
  rename_durably(fd_.get(), path_, target);
  path_.clear();
  fd_.reset();
}

void TempFile::remove() noexcept {
  // Unlinked before the descriptor closes: a flock holder's name is gone
  // before its lock is, so a sweeper never sees an unlocked live file.
  if (!path_.empty()) ::unlink(path_.c_str());
  path_.clear();
  fd_.reset();
}

UnnamedTempFile::UnnamedTempFile(const fs::path& final_path)
    : shown_(final_path.string() + " (unnamed temp file)") {
  const fs::path dir = final_path.parent_path().empty() ? fs::path(".") : final_path.parent_path();
  fd_ = UniqueFd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0644));
  if (fd_.valid()) return;
  // EOPNOTSUPP: a filesystem without unnamed files; EISDIR: a kernel
  // without O_TMPFILE (it then reads as O_DIRECTORY).
  if (errno != EOPNOTSUPP && errno != EISDIR) throw_file_error("create a file in", dir);
  named_.emplace(final_path);
}

void UnnamedTempFile::commit(const fs::path& target) {
  if (named_) return named_->commit(target);
  sync_file(fd_.get(), shown_);
  // A name to rename from: rename(2) replaces `target` atomically, linkat
  // does not. Through /proc, as open(2) shows for O_TMPFILE; AT_EMPTY_PATH
  // would need CAP_DAC_READ_SEARCH.
  const std::string proc = "/proc/self/fd/" + std::to_string(fd_.get());
  fs::path name;
  for (int attempt = 0;; ++attempt) {
    name = target.string() + ".tmp-" + random_name();
    if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW) == 0) break;
    if (errno != EEXIST || attempt + 1 >= kTempNameAttempts) throw_file_error("name", name);
  }
  if (::rename(name.c_str(), target.c_str()) != 0) {
    const int err = errno;
    ::unlink(name.c_str());
    errno = err;
    throw_file_error("rename into", target);
  }
  sync_directory(target.parent_path().empty() ? fs::path(".") : target.parent_path());
  fd_.reset();
}

void write_file_atomically(const fs::path& path, std::string_view contents, mode_t mode) {
  TempFile temp(path, mode);
  temp.write(contents);
  temp.commit(path);
}

void DropBehind::advance(int fd, std::int64_t frontier) noexcept {
  constexpr std::int64_t kLag = 32 << 20;
  constexpr std::int64_t kStep = 8 << 20;
  constexpr std::int64_t kFolio = 2 << 20;  // the largest folio (a PMD on x86-64)
  const std::int64_t to = (frontier - kLag) / kFolio * kFolio;
  std::int64_t from = dropped_.load();
  while (to - from >= kStep) {
    if (dropped_.compare_exchange_weak(from, to)) {
      ::posix_fadvise(fd, from, to - from, POSIX_FADV_DONTNEED);
      return;
    }
  }
}

void allocate_file(int fd, std::int64_t size, const std::filesystem::path& path) {
  if (size == 0) return;
  if (::fallocate(fd, 0, 0, static_cast<off_t>(size)) == 0) return;
  if (errno != EOPNOTSUPP && errno != ENOSYS) throw_file_error("allocate", path);
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) throw_file_error("size", path);
}

}  // namespace ecr
