#include "server/blob_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <span>
#include <system_error>
#include <vector>

#include "core/blob_commit.hpp"
#include "core/file.hpp"
#include "ecr/service_errors.hpp"

namespace ecr::server {
namespace fs = std::filesystem;
namespace {

// "blob store: cannot <what>: <strerror>", worded as core/file.hpp's errors,
// so a full disk reads the same whichever call ran into it.
[[noreturn]] void fail(const std::string& what, int err = errno) {
  throw api::ServerException("blob store: cannot " + what + ": " + std::strerror(err));
}

// The blob store's callers answer an InputError as the client's mistake (a
// malformed request); a file the server cannot write is the server's failure.
template <class F>
decltype(auto) as_server_failure(F&& f) {
  try {
    return f();
  } catch (const InputError& e) {
    throw api::ServerException(std::string("blob store: ") + e.what());
  }
}

// Data and the length needed to read it back, without the timestamps that
// fsync also writes: what an acknowledged part needs to survive a crash.
void fdatasync_or_fail(int fd, const fs::path& path) {
  if (::fdatasync(fd) != 0) fail("fdatasync " + path.string());
}

std::span<const std::byte> bytes_of(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

// Parts go to disk with O_DIRECT where they can: a buffered write copies
// every byte into the page cache first, which on the development VM cost
// 2.6 CPU-s per GB written (dd, 20 MiB blocks: 3.41 s of system time for
// 1.2 GB buffered, 0.13 s with O_DIRECT), half of ecr-local's CPU during a
// push; the direct write also leaves the final fdatasync little to flush.
// Direct I/O needs the file offset, the memory address and the length
// aligned to the device's logical block; 4 KiB covers every common device.
constexpr std::size_t kDirectAlignment = 4096;

// Writes `bytes` (whole blocks from an aligned address) at `offset` through
// `fd`, opened with O_DIRECT; returns the bytes written, fewer when the
// device refuses the alignment.
std::size_t write_direct_blocks(const UniqueFd& fd, const fs::path& path, std::uint64_t offset,
                                std::string_view bytes) {
  const std::size_t aligned = bytes.size();
  std::size_t done = 0;
  while (done < aligned) {
    const ssize_t n =
        ::pwrite(fd.get(), bytes.data() + done, aligned - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EINVAL) break;  // alignment this device refuses: buffered from here
      fail("write " + path.string());
    }
    done += static_cast<std::size_t>(n);
    if (n == 0 || done % kDirectAlignment != 0) break;
  }
  return done;
}

// Writes the longest 4 KiB-aligned prefix of `bytes` at `offset` with
// O_DIRECT and returns its length: 0 when direct I/O does not apply (the
// offset or the address is not aligned, the part is under 4 KiB, or the
// filesystem has no direct I/O, as tmpfs), and less than the prefix when the
// kernel wrote short; the caller writes the rest through the page cache.
std::size_t write_direct_prefix(const fs::path& path, std::uint64_t offset,
                                std::string_view bytes) {
  const std::size_t aligned = bytes.size() / kDirectAlignment * kDirectAlignment;
  if (aligned == 0 || offset % kDirectAlignment != 0 ||
      reinterpret_cast<std::uintptr_t>(bytes.data()) % kDirectAlignment != 0) {
    return 0;
  }
  const UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_DIRECT | O_CLOEXEC, 0644));
  if (!fd.valid()) {
    if (errno == EINVAL) return 0;
    fail("open " + path.string());
  }
  return write_direct_blocks(fd, path, offset, bytes.substr(0, aligned));
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
    throw api::ServerException("blob store: cannot create directories under " + root_.string() +
                               ": " + ec.message());
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

std::pair<std::size_t, std::uint64_t> BlobStore::sweep_blobs(
    const std::set<Digest>& keep, const std::set<std::uint64_t>& keep_sizes) const {
  std::size_t removed = 0;
  std::uint64_t bytes = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_ / "blobs" / "sha256", ec)) {
    const std::string name = "sha256:" + entry.path().filename().string();
    if (!Digest::valid(name) || keep.contains(Digest::parse(name))) continue;
    std::error_code size_ec;
    const std::uintmax_t size = entry.file_size(size_ec);
    if (size_ec || keep_sizes.contains(static_cast<std::uint64_t>(size))) continue;
    if (fs::remove(entry.path(), size_ec)) {
      ++removed;
      bytes += size;
    }
  }
  if (ec) throw api::ServerException("blob store: cannot list blobs: " + ec.message());
  return {removed, bytes};
}

fs::path BlobStore::blob_path(const Digest& digest) const {
  return root_ / "blobs" / "sha256" / std::string(digest.hex());
}

fs::path BlobStore::upload_path(std::string_view upload_id) const {
  if (!is_upload_id(upload_id)) {
    throw api::ServerException("blob store: not an upload id");
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
  finish_part(upload_id, offset, bytes, 0);
}

UniqueFd BlobStore::open_upload_direct(std::string_view upload_id) const {
  const fs::path path = upload_path(upload_id);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_DIRECT | O_CLOEXEC, 0644));
  if (!fd.valid() && errno != EINVAL) {
    as_server_failure([&] { fail("open " + path.string()); });
  }
  return fd;
}

std::size_t BlobStore::write_direct(const UniqueFd& direct, std::string_view upload_id,
                                    std::uint64_t offset, std::string_view bytes) const {
  if (offset % kDirectAlignment != 0 || bytes.size() % kDirectAlignment != 0 ||
      reinterpret_cast<std::uintptr_t>(bytes.data()) % kDirectAlignment != 0) {
    return 0;
  }
  const fs::path path = upload_path(upload_id);
  return as_server_failure([&] { return write_direct_blocks(direct, path, offset, bytes); });
}

void BlobStore::finish_part(std::string_view upload_id, std::uint64_t offset,
                            std::string_view bytes, std::size_t written) const {
  fs::path path = upload_path(upload_id);
  as_server_failure([&] {
    const UniqueFd fd = open_file(path, O_WRONLY | O_CREAT);
    try {
      const std::string_view rest = bytes.substr(std::min(written, bytes.size()));
      const std::uint64_t at = offset + (bytes.size() - rest.size());
      const std::size_t direct = write_direct_prefix(path, at, rest);
      write_all_at(fd.get(), bytes_of(rest.substr(direct)), static_cast<std::int64_t>(at + direct),
                   path);
      if (::ftruncate(fd.get(), static_cast<off_t>(offset + bytes.size())) != 0) {
        fail("truncate " + path.string());
      }
      fdatasync_or_fail(fd.get(), path);
    } catch (...) {
      discard_tail(fd, offset);
      throw;
    }
    if (offset == 0) sync_directory(path.parent_path());
  });
}

void BlobStore::discard_tail(const UniqueFd& file, std::uint64_t size) noexcept {
  // Best effort: the session never counted these bytes, and the next write
  // at `size` replaces them anyway; truncating now only frees their blocks.
  const int err = errno;
  (void)::ftruncate(file.get(), static_cast<off_t>(size));
  errno = err;
}

UniqueFd BlobStore::open_upload(std::string_view upload_id) const {
  const fs::path path = upload_path(upload_id);
  return as_server_failure([&] { return open_file(path, O_WRONLY | O_CREAT); });
}

void BlobStore::write_upload(const UniqueFd& file, std::string_view upload_id, std::uint64_t offset,
                             std::string_view bytes) const {
  const fs::path path = upload_path(upload_id);
  as_server_failure(
      [&] { write_all_at(file.get(), bytes_of(bytes), static_cast<std::int64_t>(offset), path); });
}

void BlobStore::sync_upload(const UniqueFd& file, std::string_view upload_id,
                            std::uint64_t size) const {
  const fs::path path = upload_path(upload_id);
  as_server_failure([&] {
    if (::ftruncate(file.get(), static_cast<off_t>(size)) != 0) fail("truncate " + path.string());
    fdatasync_or_fail(file.get(), path);
    sync_directory(path.parent_path());
  });
}

std::optional<Digest> BlobStore::commit_upload(std::string_view upload_id, std::uint64_t size,
                                               const Digest& expected,
                                               const std::optional<Digest>& known) const {
  fs::path path = upload_path(upload_id);
  std::error_code ec;
  // A crash after the rename but before the session was closed leaves the
  // blob in place and no upload file: the earlier attempt already succeeded.
  if (!fs::exists(path, ec) && size_of_blob_equals(expected, size)) return std::nullopt;
  return as_server_failure([&]() -> std::optional<Digest> {
    const UniqueFd fd = open_file(path, O_RDWR);
    if (known && static_cast<std::uint64_t>(file_size(fd.get(), path)) < size) {
      throw api::ServerException("blob store: " + path.string() + " is shorter than recorded");
    }
    const Digest actual = [&] {
      if (known) return *known;
      FileDigest found = hash_file(fd.get(), path, static_cast<std::int64_t>(size));
      if (static_cast<std::uint64_t>(found.size) < size) {
        throw api::ServerException("blob store: " + path.string() + " is shorter than recorded");
      }
      return std::move(found.digest);
    }();
    if (actual != expected) return actual;
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) fail("truncate " + path.string());
    // The upload file is the blob's temp file; when the blob is already
    // there, commit_blob drops it.
    commit_blob(fd.get(), path, expected, actual, static_cast<std::int64_t>(size),
                blob_path(expected));
    return std::nullopt;
  });
}

bool BlobStore::has_upload(std::string_view upload_id) const {
  std::error_code ec;
  return fs::exists(upload_path(upload_id), ec);
}

void BlobStore::remove_upload(std::string_view upload_id) const {
  std::error_code ec;
  fs::remove(upload_path(upload_id), ec);
}

Digest BlobStore::put(std::string_view bytes) const {
  Digest digest = Digest::of(bytes);
  if (contains(digest)) return digest;
  const fs::path target = blob_path(digest);
  as_server_failure([&] {
    // A TempFile of its own per call, so concurrent puts of one blob never share one.
    TempFile temp(target);
    temp.write(bytes);
    commit_blob(temp, digest, digest, static_cast<std::int64_t>(bytes.size()), target);
  });
  return digest;
}

}  // namespace ecr::server
