#include "server/blob_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

#include "ecr/error.hpp"

namespace ecr::server {
namespace fs = std::filesystem;
namespace {

// Read size for hashing a finished upload: large enough that the syscall cost
// vanishes next to SHA-256 (1 MiB reads measured no faster than this).
constexpr std::size_t kHashBufferBytes = 256 * 1024;

[[noreturn]] void fail(const std::string& what, int err = errno) {
  throw ServiceError("ServerException", "blob store: " + what + ": " + std::strerror(err), 500);
}

class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

UniqueFd open_or_fail(const fs::path& path, int flags, mode_t mode = 0644) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) fail("open " + path.string());
  return UniqueFd(fd);
}

void fsync_or_fail(int fd, const fs::path& path) {
  if (::fsync(fd) != 0) fail("fsync " + path.string());
}

// Data and the length needed to read it back, without the timestamps that
// fsync also writes: what an acknowledged part needs to survive a crash.
void fdatasync_or_fail(int fd, const fs::path& path) {
  if (::fdatasync(fd) != 0) fail("fdatasync " + path.string());
}

// A rename is durable only once the directory entry is: fsync the directory.
void fsync_dir(const fs::path& dir) {
  UniqueFd fd = open_or_fail(dir, O_RDONLY | O_DIRECTORY);
  fsync_or_fail(fd.get(), dir);
}

void write_all(int fd, std::uint64_t offset, std::string_view bytes, const fs::path& path) {
  while (!bytes.empty()) {
    ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write " + path.string());
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
}

Digest hash_file(int fd, std::uint64_t size, const fs::path& path) {
  std::vector<char> buffer(kHashBufferBytes);
  Sha256 sha;
  std::uint64_t offset = 0;
  while (offset < size) {
    std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), size - offset));
    ssize_t n = ::pread(fd, buffer.data(), want, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("read " + path.string());
    }
    if (n == 0)
      throw ServiceError("ServerException",
                         "blob store: " + path.string() + " is shorter than recorded", 500);
    sha.update(buffer.data(), static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return sha.finish();
}

}  // namespace

bool is_upload_id(std::string_view id) noexcept {
  if (id.size() != 36) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

BlobStore::BlobStore(fs::path root) : root_(std::move(root)) {
  std::error_code ec;
  fs::create_directories(root_ / "blobs" / "sha256", ec);
  if (!ec) fs::create_directories(root_ / "uploads", ec);
  if (ec) {
    throw ServiceError(
        "ServerException",
        "blob store: cannot create directories under " + root_.string() + ": " + ec.message(), 500);
  }
  // Temp files of put() that a crash left behind are never referenced.
  for (const auto& entry : fs::directory_iterator(root_ / "blobs" / "sha256")) {
    if (entry.path().filename().string().find(".tmp") != std::string::npos) {
      fs::remove(entry.path(), ec);
    }
  }
}

void BlobStore::sweep_uploads(const std::set<std::string>& live_uploads) const {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_ / "uploads")) {
    if (!live_uploads.contains(entry.path().filename().string())) fs::remove(entry.path(), ec);
  }
}

std::pair<std::size_t, std::uint64_t> BlobStore::sweep_blobs(const std::set<Digest>& keep) const {
  std::size_t removed = 0;
  std::uint64_t bytes = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_ / "blobs" / "sha256", ec)) {
    const std::string name = "sha256:" + entry.path().filename().string();
    if (!Digest::valid(name) || keep.contains(Digest::parse(name))) continue;
    std::error_code size_ec;
    const std::uintmax_t size = entry.file_size(size_ec);
    if (fs::remove(entry.path(), size_ec)) {
      ++removed;
      if (size != static_cast<std::uintmax_t>(-1)) bytes += size;
    }
  }
  if (ec) throw ServiceError("ServerException", "blob store: cannot list blobs: " + ec.message(), 500);
  return {removed, bytes};
}

fs::path BlobStore::blob_path(const Digest& digest) const {
  return root_ / "blobs" / "sha256" / std::string(digest.hex());
}

fs::path BlobStore::upload_path(std::string_view upload_id) const {
  if (!is_upload_id(upload_id)) {
    throw ServiceError("ServerException", "blob store: not an upload id", 500);
  }
  return root_ / "uploads" / std::string(upload_id);
}

bool BlobStore::size_of_blob_equals(const Digest& digest, std::uint64_t n) const {
  auto actual = size(digest);
  return actual && *actual == n;
}

bool BlobStore::contains(const Digest& digest) const {
  std::error_code ec;
  return fs::is_regular_file(blob_path(digest), ec);
}

std::optional<std::uint64_t> BlobStore::size(const Digest& digest) const {
  std::error_code ec;
  auto n = fs::file_size(blob_path(digest), ec);
  if (ec) return std::nullopt;
  return n;
}

void BlobStore::write_part(std::string_view upload_id, std::uint64_t offset,
                           std::string_view bytes) const {
  fs::path path = upload_path(upload_id);
  UniqueFd fd = open_or_fail(path, O_WRONLY | O_CREAT);
  write_all(fd.get(), offset, bytes, path);
  if (::ftruncate(fd.get(), static_cast<off_t>(offset + bytes.size())) != 0) {
    fail("truncate " + path.string());
  }
  fdatasync_or_fail(fd.get(), path);
  if (offset == 0) fsync_dir(path.parent_path());
}

std::optional<Digest> BlobStore::commit_upload(std::string_view upload_id, std::uint64_t size,
                                               const Digest& expected,
                                               const std::optional<Digest>& known) const {
  fs::path path = upload_path(upload_id);
  std::error_code ec;
  // A crash after the rename but before the session was closed leaves the
  // blob in place and no upload file: the earlier attempt already succeeded.
  if (!fs::exists(path, ec) && size_of_blob_equals(expected, size)) return std::nullopt;
  UniqueFd fd = open_or_fail(path, O_RDWR);
  if (known) {
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) fail("stat " + path.string());
    if (static_cast<std::uint64_t>(st.st_size) < size) {
      throw ServiceError("ServerException",
                         "blob store: " + path.string() + " is shorter than recorded", 500);
    }
  }
  Digest actual = known ? *known : hash_file(fd.get(), size, path);
  if (actual != expected) return actual;
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) fail("truncate " + path.string());
  fsync_or_fail(fd.get(), path);
  fs::path target = blob_path(expected);
  if (contains(expected)) {
    remove_upload(upload_id);
    return std::nullopt;
  }
  if (::rename(path.c_str(), target.c_str()) != 0) fail("rename into " + target.string());
  fsync_dir(target.parent_path());
  return std::nullopt;
}

void BlobStore::remove_upload(std::string_view upload_id) const {
  std::error_code ec;
  fs::remove(upload_path(upload_id), ec);
}

Digest BlobStore::put(std::string_view bytes) const {
  Digest digest = Digest::of(bytes);
  if (contains(digest)) return digest;
  fs::path target = blob_path(digest);
  // Unique per thread and call, so concurrent puts of one blob never share a temp.
  static std::atomic<std::uint64_t> counter{0};
  fs::path temp = target;
  temp += ".tmp" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  {
    UniqueFd fd = open_or_fail(temp, O_WRONLY | O_CREAT | O_TRUNC);
    write_all(fd.get(), 0, bytes, temp);
    fsync_or_fail(fd.get(), temp);
  }
  if (::rename(temp.c_str(), target.c_str()) != 0) fail("rename into " + target.string());
  fsync_dir(target.parent_path());
  return digest;
}

}  // namespace ecr::server
