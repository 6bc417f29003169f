// Fetching one blob from its GetDownloadUrlForLayer URL into a file (a
// staging file, or the cache's temp file through a ranged BlobWriter): whole
// or as byte ranges written in place, resumed with Range after a reset, the
// URL refreshed when it has expired (403).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "ecr/image.hpp"
#include "transfer/progress.hpp"
#include "transfer/registry_session.hpp"

namespace ecr::transfer {

// Stores `bytes` at `offset` of the blob. Called from several threads at
// once for disjoint ranges; throws what the store throws (InputError on a
// write failure).
using RangeWriter = std::function<void(std::int64_t offset, std::string_view bytes)>;

// A RangeWriter that pwrites into `fd` (not owned).
RangeWriter file_range_writer(int fd);

// One blob being downloaded; shared by the threads fetching its ranges.
class BlobFetch {
 public:
  BlobFetch(RegistrySession& session, Descriptor descriptor, RangeWriter write, Reporter& reporter)
      : session_(session),
        d_(std::move(descriptor)),
        write_(std::move(write)),
        reporter_(reporter) {}

  // Fetches bytes [begin, end) into the RangeWriter at the same offsets. Throws
  // TransportError / ServiceError ("HTTP <status>") after kMaxDownloadAttempts,
  // IntegrityError when the server sends more than asked, Cancelled.
  void fetch(std::int64_t begin, std::int64_t end);

  const Descriptor& descriptor() const noexcept { return d_; }
  std::int64_t bytes_received() const;

 private:
  std::string url();
  // Asks for a new URL unless another range already replaced `stale`.
  void refresh(const std::string& stale);
  void add_progress(std::int64_t n);

  RegistrySession& session_;
  Descriptor d_;
  RangeWriter write_;
  Reporter& reporter_;
  mutable std::mutex mutex_;
  std::string url_;
  std::int64_t received_ = 0;
  std::int64_t reported_ = 0;
};

// SHA-256 of the first `size` bytes of `fd`.
Digest hash_file(int fd, std::int64_t size);

}  // namespace ecr::transfer
