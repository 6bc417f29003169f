#include "transfer/blob_landing.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>

#include "core/thread_buffer.hpp"
#include "ecr/service_errors.hpp"
#include "transfer/parallel.hpp"

namespace ecr::transfer {
namespace {

// Tags the buffer a cached blob is read back through to be checked (core/thread_buffer.hpp).
struct CacheCheck;

std::shared_ptr<UniqueFd> create_sized_file(const std::filesystem::path& path, std::int64_t size) {
  auto fd = std::make_shared<UniqueFd>(open_file(path, O_RDWR | O_CREAT | O_EXCL, 0600));
  allocate_file(fd->get(), size, path);
  return fd;
}

std::vector<std::function<void()>> range_tasks(Download& blob, const DownloadTuning& tuning) {
  std::vector<std::function<void()>> tasks;
  const std::int64_t size = blob.descriptor.size;
  BlobFetch* fetch = blob.fetch.get();
  if (size < tuning.range_threshold) {
    tasks.emplace_back([fetch, size] { fetch->fetch(0, size); });
    return tasks;
  }
  for (std::int64_t begin = 0; begin < size; begin += tuning.range_chunk) {
    const std::int64_t end = std::min(size, begin + tuning.range_chunk);
    tasks.emplace_back([fetch, begin, end] { fetch->fetch(begin, end); });
  }
  return tasks;
}

}  // namespace

BlobLanding::BlobLanding(const std::optional<std::filesystem::path>& cache_dir) {
  if (cache_dir) {
    cache_.emplace(*cache_dir);
    // Temp files of killed pulls (a whole layer each) go now rather than
    // waiting for an `ecr cache` verb; live writers' files are flocked.
    cache_->sweep_temps();
  }
}

std::unique_ptr<Download> BlobLanding::start(RegistrySession& session, const Descriptor& d,
                                             ImageSink& sink, TransferContext& context) {
  auto blob = std::make_unique<Download>(d);
  Download* raw = blob.get();
  RangeWriter write;
  PageOffset page_offset;
  if ((blob->slot = sink.blob_slot(d))) {
    blob->sink = &sink;
    write = [raw](std::int64_t offset, std::string_view bytes) {
      raw->slot->write_at(offset, std::as_bytes(std::span(bytes.data(), bytes.size())));
    };
    page_offset = [raw](std::int64_t offset) { return raw->slot->page_offset(offset); };
  } else if (cache_) {
    blob->writer.emplace(cache_->ranged_writer(d.digest, d.size));
    write = [raw](std::int64_t offset, std::string_view bytes) {
      raw->writer->write_at(offset, bytes);
    };
  } else {
    if (!staging_) staging_.emplace(std::filesystem::temp_directory_path() / "ecr-pull");
    blob->staged = staging_->path() / std::string(d.digest.hex());
    blob->fd = create_sized_file(blob->staged, d.size);
    blob->hasher = std::make_unique<InOrderHasher>(blob->fd->get(), d.size, blob->staged);
    write = [raw, to_file = file_range_writer(blob->fd->get())](std::int64_t offset,
                                                                std::string_view bytes) {
      to_file(offset, bytes);
      raw->hasher->landed(offset, std::as_bytes(std::span(bytes.data(), bytes.size())));
    };
  }
  blob->fetch =
      std::make_unique<BlobFetch>(session, d, std::move(write), context, std::move(page_offset));
  return blob;
}

void BlobLanding::finish(Download& blob, TransferContext& context) {
  const Descriptor& d = blob.descriptor;
  for (int refetch = 0;; ++refetch) {
    std::string found;
    if (blob.in_sink()) {
      try {
        blob.slot->commit();
        return;
      } catch (const IntegrityError& e) {
        found = e.what();
      }
    } else if (cache_) {
      try {
        blob.writer->commit();
        return;
      } catch (const IntegrityError& e) {
        found = e.what();
      }
    } else {
      const Digest got = blob.hasher->finish();
      if (got == d.digest) {
        // Created private while unverified; a sink may now link it, so
        // it is made durable like any blob a sink writes.
        if (::fchmod(blob.fd->get(), 0644) != 0 || ::fsync(blob.fd->get()) != 0) {
          throw InputError("cannot sync downloaded blob " + d.digest.str() + ": " +
                           std::strerror(errno));
        }
        return;
      }
      found = "blob " + d.digest.str() + ": content hashes to " + got.str();
    }
    if (refetch >= kMaxIntegrityRefetches) {
      throw IntegrityError(found + " as downloaded from the registry (fetched " +
                           std::to_string(refetch + 1) + " times)");
    }
    context.throw_if_cancelled();
    if (blob.in_sink()) {
      blob.slot = blob.sink->blob_slot(d);
      if (!blob.slot)
        throw std::logic_error("a sink took blob " + d.digest.str() + " and then not");
    } else if (cache_) {
      blob.writer.emplace(cache_->ranged_writer(d.digest, d.size));
    } else {
      blob.hasher = std::make_unique<InOrderHasher>(blob.fd->get(), d.size, blob.staged);
    }
    blob.fetch->fetch(0, d.size);
  }
}

std::optional<std::filesystem::path> BlobLanding::file(const Descriptor& d) {
  if (cache_) return cache_->path(d.digest);
  if (!staging_) return std::nullopt;
  return staging_->path() / std::string(d.digest.hex());
}

std::unique_ptr<ByteStream> BlobLanding::open(const Descriptor& d, const Download* blob) {
  if (blob != nullptr && blob->in_sink()) return nullptr;
  if (cache_) return cache_->open(d.digest);
  return std::make_unique<oci::FileRangeStream>(blob->fd, 0, d.size);
}

namespace {

// Hands the ranges of a pull's blobs to its download workers. A worker gets
// the next range of the first blob that has no range in flight, so each
// blob's bytes arrive in order and are hashed as they are written
// (InOrderHasher), and no two workers write one file (contending for its
// inode lock). Only when every blob left has a range in flight (fewer blobs
// than workers, e.g. one large layer) does a blob get a second one, out of
// order: the one with the most ranges left, and only while its ranges mostly
// wait for the link (DownloadTuning::extra_range_busy_limit). Its bytes are
// then read back from the page cache and hashed as soon as the earlier range
// lands. A worker that may take nothing yet waits for a range to end, and
// looks again every kRecheck (a blob's busy share moves with its link).
class RangeQueue {
 public:
  RangeQueue(std::vector<std::vector<std::function<void()>>> ranges,
             std::vector<const BlobFetch*> fetches, double busy_limit)
      : blobs_(ranges.size()), busy_limit_(busy_limit) {
    for (std::size_t b = 0; b < ranges.size(); ++b) {
      blobs_[b].ranges = std::move(ranges[b]);
      blobs_[b].fetch = fetches[b];
    }
  }

  struct Taken {
    std::size_t blob;
    const std::function<void()>* fetch;
  };

  // The next range to fetch, waiting while the only ones left would be
  // further ranges of blobs whose ranges keep their workers busy; nullopt
  // when none is left (or stop() was called).
  std::optional<Taken> take() {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (stopped_) return std::nullopt;
      Blob* chosen = nullptr;
      bool held_back = false;
      for (Blob& blob : blobs_) {
        if (blob.left() == 0) continue;
        if (blob.in_flight == 0) {
          chosen = &blob;
          break;
        }
        if (!another_range_pays(blob)) {
          held_back = true;
          continue;
        }
        if (chosen == nullptr || blob.left() > chosen->left()) chosen = &blob;
      }
      if (chosen != nullptr) {
        ++chosen->in_flight;
        return Taken{static_cast<std::size_t>(chosen - blobs_.data()),
                     &chosen->ranges[chosen->next++]};
      }
      if (!held_back) return std::nullopt;
      changed_.wait_for(lock, kRecheck);
    }
  }

  void done(std::size_t blob) {
    {
      const std::lock_guard lock(mutex_);
      --blobs_[blob].in_flight;
    }
    changed_.notify_all();
  }

  // Hands out nothing more (a worker failed).
  void stop() {
    {
      const std::lock_guard lock(mutex_);
      stopped_ = true;
    }
    changed_.notify_all();
  }

  std::size_t size() const {
    std::size_t n = 0;
    for (const Blob& blob : blobs_) n += blob.ranges.size();
    return n;
  }

 private:
  static constexpr std::chrono::milliseconds kRecheck{10};

  struct Blob {
    std::vector<std::function<void()>> ranges;
    const BlobFetch* fetch = nullptr;
    std::size_t next = 0;
    int in_flight = 0;
    std::size_t left() const { return ranges.size() - next; }
  };

  // Whether `blob`, which has a range in flight, gets a further one now.
  bool another_range_pays(const Blob& blob) const {
    if (busy_limit_ >= 1) return true;
    if (busy_limit_ <= 0) return false;
    const std::optional<double> busy = blob.fetch->busy_share();
    return busy && *busy < busy_limit_;
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Blob> blobs_;
  double busy_limit_;
  bool stopped_ = false;
};

}  // namespace

// The task that lands a blob's last range verifies (and commits) it at once,
// so hashing the rest and syncing one blob overlap the downloads of the others.
std::int64_t BlobLanding::download_all(std::vector<std::unique_ptr<Download>>& blobs,
                                       TransferContext& context, const DownloadTuning& tuning) {
  std::vector<std::vector<std::function<void()>>> per_blob;
  std::vector<const BlobFetch*> fetches;
  for (auto& blob : blobs) {
    std::vector<std::function<void()>> ranges = range_tasks(*blob, tuning);
    auto left = std::make_shared<std::atomic<std::size_t>>(ranges.size());
    std::vector<std::function<void()>> finishing;
    for (auto& range : ranges) {
      finishing.emplace_back([this, range = std::move(range), left, &blob = *blob, &context] {
        range();
        if (left->fetch_sub(1) != 1) return;
        context.throw_if_cancelled();
        finish(blob, context);
      });
    }
    per_blob.push_back(std::move(finishing));
    fetches.push_back(blob->fetch.get());
  }
  RangeQueue queue(std::move(per_blob), std::move(fetches), tuning.extra_range_busy_limit);
  const std::function<void()> worker = [&queue] {
    while (const auto range = queue.take()) {
      try {
        (*range->fetch)();
      } catch (...) {
        queue.stop();
        throw;
      }
      queue.done(range->blob);
    }
  };
  const std::size_t workers = std::min(static_cast<std::size_t>(context.jobs()), queue.size());
  run_all(workers, std::vector<std::function<void()>>(workers, worker));
  std::int64_t received = 0;
  for (auto& blob : blobs) received += blob->fetch->bytes_received();
  return received;
}

bool cached_blob_intact(BlobCache& cache, const Descriptor& d) {
  auto stream = cache.open(d.digest);
  if (!stream) return false;
  try {
    BlobReader reader(d, std::move(stream));
    const std::span<std::byte> buffer = thread_buffer<CacheCheck>(1 << 20);
    while (reader.read(buffer) != 0) {
    }
    return true;
  } catch (const IntegrityError&) {
    return false;
  }
}

void drop_damaged_cached_blobs(BlobCache& cache, const std::vector<Descriptor>& blobs, int jobs) {
  std::vector<const Descriptor*> cached;
  for (const auto& d : blobs) {
    if (cache.contains(d.digest)) cached.push_back(&d);
  }
  std::vector<char> intact(cached.size(), 0);
  std::vector<std::function<void()>> tasks;
  for (std::size_t i = 0; i < cached.size(); ++i) {
    tasks.emplace_back([&, i] { intact[i] = cached_blob_intact(cache, *cached[i]) ? 1 : 0; });
  }
  run_all(static_cast<std::size_t>(jobs), tasks);
  for (std::size_t i = 0; i < cached.size(); ++i) {
    if (intact[i] == 0) cache.remove(cached[i]->digest);
  }
}

}  // namespace ecr::transfer
