// BlobCache: the blobs/sha256 directory, its LRU bookkeeping (file mtimes),
// pruning, re-verification and temp sweeping.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <exception>
#include <future>
#include <optional>
#include <thread>

#include "cache/blob_writer_impl.hpp"
#include "cache/file_ops.hpp"
#include "core/file.hpp"
#include "core/thread_pool.hpp"
#include "ecr/cache.hpp"
#include "ecr/error.hpp"

namespace ecr {
namespace {

namespace fs = std::filesystem;

// Read size for open() streams, put() and verify(): large enough that syscall
// overhead is small next to SHA-256 at ~1.6 GB/s (DESIGN.md), small enough to
// sit on the stack of several worker threads.
constexpr std::size_t kCopyBufferSize = 64 * 1024;

class CachedBlobStream final : public ByteStream {
 public:
  CachedBlobStream(UniqueFd fd, fs::path path) : fd_(std::move(fd)), path_(std::move(path)) {}
  std::size_t read(std::span<std::byte> out) override { return read_some(fd_.get(), out, path_); }

 private:
  UniqueFd fd_;
  fs::path path_;
};

std::optional<CacheEntry> stat_entry(const fs::path& file, const Digest& digest) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  auto since_epoch =
      std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec);
  return CacheEntry{
      digest, static_cast<std::int64_t>(st.st_size),
      std::chrono::system_clock::time_point(
          std::chrono::duration_cast<std::chrono::system_clock::duration>(since_epoch))};
}

}  // namespace

fs::path default_cache_root() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && *xdg != '\0') return fs::path(xdg) / "ecr";
  const char* home = std::getenv("HOME");
  if (home != nullptr && *home != '\0') return fs::path(home) / ".cache" / "ecr";
  throw InputError("cache: neither XDG_CACHE_HOME nor HOME is set; pass a cache directory");
}

BlobCache::BlobCache(fs::path root) : root_(std::move(root)) {
  cache::make_directories(root_ / "blobs" / "sha256");
  cache::make_directories(root_ / "tmp");
  cache::make_directories(root_ / "index");
}

fs::path BlobCache::blob_path(const Digest& digest) const {
  return root_ / "blobs" / "sha256" / std::string(digest.hex());
}

bool BlobCache::contains(const Digest& digest) const {
  struct stat st {};
  return ::stat(blob_path(digest).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::optional<fs::path> BlobCache::path(const Digest& digest) {
  fs::path p = blob_path(digest);
  if (!cache::touch(p)) return std::nullopt;
  return p;
}

std::unique_ptr<ByteStream> BlobCache::open(const Digest& digest) {
  fs::path p = blob_path(digest);
  UniqueFd fd = open_if_exists(p);
  if (!fd.valid()) return nullptr;
  cache::touch(p);
  return std::make_unique<CachedBlobStream>(std::move(fd), std::move(p));
}

BlobWriter BlobCache::writer(const Digest& digest, std::optional<std::int64_t> expected_size) {
  if (expected_size && *expected_size < 0) {
    throw InputError("cache: blob " + digest.str() + " has a negative size " +
                     std::to_string(*expected_size));
  }
  TempFile temp = TempFile::create_locked(root_ / "tmp", ".tmp");
  return BlobWriter(std::make_unique<BlobWriter::Impl>(digest, expected_size, blob_path(digest),
                                                       std::move(temp)));
}

BlobWriter BlobCache::ranged_writer(const Digest& digest, std::int64_t size) {
  if (size < 0) {
    throw InputError("cache: blob " + digest.str() + " has a negative size " +
                     std::to_string(size));
  }
  TempFile temp = TempFile::create_locked(root_ / "tmp", ".tmp");
  allocate_file(temp.fd(), size, temp.path());
  auto impl = std::make_unique<BlobWriter::Impl>(digest, size, blob_path(digest), std::move(temp));
  impl->ranged.emplace(impl->temp.fd(), size, impl->temp.path());
  return BlobWriter(std::move(impl));
}

bool BlobCache::remove(const Digest& digest) {
  const fs::path p = blob_path(digest);
  if (::unlink(p.c_str()) != 0) {
    if (errno == ENOENT) return false;
    throw_file_error("remove", p);
  }
  sync_directory(p.parent_path());
  return true;
}

fs::path BlobCache::put(const Digest& digest, ByteStream& in,
                        std::optional<std::int64_t> expected_size) {
  BlobWriter w = writer(digest, expected_size);
  std::array<std::byte, kCopyBufferSize> buffer{};
  for (;;) {
    std::size_t n = in.read(buffer);
    if (n == 0) break;
    w.write(std::span<const std::byte>(buffer.data(), n));
  }
  return w.commit();
}

std::vector<CacheEntry> BlobCache::list() const {
  std::vector<CacheEntry> entries;
  const fs::path dir = root_ / "blobs" / "sha256";
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const std::string text = "sha256:" + name;
    if (!Digest::valid(text)) continue;
    // A concurrent prune may remove it between listing and stat: skip it then.
    if (auto entry = stat_entry(it->path(), Digest::parse(text)))
      entries.push_back(std::move(*entry));
  }
  if (ec) throw InputError("cache: cannot list " + dir.string() + ": " + ec.message());
  std::sort(entries.begin(), entries.end(),
            [](const CacheEntry& a, const CacheEntry& b) { return a.digest < b.digest; });
  return entries;
}

std::vector<CacheEntry> BlobCache::prune(std::uint64_t max_bytes) {
  sweep_temps();
  std::vector<CacheEntry> entries = list();
  std::stable_sort(entries.begin(), entries.end(), [](const CacheEntry& a, const CacheEntry& b) {
    return a.last_used < b.last_used;
  });
  std::uint64_t total = 0;
  for (const CacheEntry& e : entries) total += static_cast<std::uint64_t>(e.size);
  std::vector<CacheEntry> removed;
  for (const CacheEntry& e : entries) {
    if (total <= max_bytes) break;
    const fs::path p = blob_path(e.digest);
    // Used by someone since we listed it: no longer a candidate.
    auto now = stat_entry(p, e.digest);
    if (!now || now->last_used != e.last_used) continue;
    if (::unlink(p.c_str()) != 0) {
      if (errno == ENOENT) continue;
      throw_file_error("remove", p);
    }
    total -= static_cast<std::uint64_t>(e.size);
    removed.push_back(e);
  }
  if (!removed.empty()) sync_directory(root_ / "blobs" / "sha256");
  return removed;
}

std::vector<CacheEntry> BlobCache::verify() {
  sweep_temps();
  const std::vector<CacheEntry> entries = list();
  // Entries are hashed on every core (SHA-256 runs at ~1.6 GB/s on one);
  // each result is the damaged entry's size, or nullopt when it is intact
  // or was pruned meanwhile.
  std::vector<std::future<std::optional<std::int64_t>>> checks;
  checks.reserve(entries.size());
  {
    ThreadPool pool(std::min<std::size_t>(std::max(1u, std::thread::hardware_concurrency()),
                                          std::max<std::size_t>(entries.size(), 1)),
                    entries.size() + 1);
    for (const CacheEntry& e : entries) {
      checks.push_back(pool.submit([this, &e]() -> std::optional<std::int64_t> {
        const fs::path p = blob_path(e.digest);
        UniqueFd fd = open_if_exists(p);
        if (!fd.valid()) return std::nullopt;  // pruned meanwhile
        const FileDigest found = hash_file(fd.get(), p);
        if (found.digest == e.digest) return std::nullopt;
        if (!cache::remove_if_same_file(p, fd.get())) return std::nullopt;
        return found.size;
      }));
    }
  }  // joins the workers
  std::vector<CacheEntry> removed;
  std::exception_ptr failure;  // the first entry that could not be read
  for (std::size_t i = 0; i < entries.size(); ++i) {
    try {
      if (const auto size = checks[i].get()) {
        removed.push_back(CacheEntry{entries[i].digest, *size, entries[i].last_used});
      }
    } catch (...) {
      if (!failure) failure = std::current_exception();
    }
  }
  if (!removed.empty()) sync_directory(root_ / "blobs" / "sha256");
  if (failure) std::rethrow_exception(failure);
  return removed;
}

std::size_t BlobCache::sweep_temps() {
  const fs::path dir = root_ / "tmp";
  std::vector<fs::path> temps;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".tmp") temps.push_back(it->path());
  }
  if (ec) throw InputError("cache: cannot list " + dir.string() + ": " + ec.message());
  std::size_t removed = 0;
  for (const fs::path& p : temps) {
    if (cache::remove_if_abandoned(p,
                                   std::chrono::duration_cast<std::chrono::seconds>(kStaleTempAge)))
      ++removed;
  }
  return removed;
}

}  // namespace ecr
