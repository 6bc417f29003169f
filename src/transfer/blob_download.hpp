// Fetching one blob from its GetDownloadUrlForLayer URL into a file (a
// staging file, or the cache's temp file through a ranged BlobWriter): whole
// or as byte ranges written in place, each fetched by get_range
// (ranged_get.hpp: resumed with Range after a reset, the URL refreshed when it
// has expired).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "ecr/image.hpp"
#include "ecr/progress.hpp"
#include "transfer/ranged_get.hpp"
#include "transfer/registry_session.hpp"

namespace ecr::transfer {

// Stores `bytes` at `offset` of the blob. Called from several threads at
// once for disjoint ranges; throws what the store throws (InputError on a
// write failure).
using RangeWriter = std::function<void(std::int64_t offset, std::string_view bytes)>;

// A RangeWriter that pwrites into `fd` (not owned).
RangeWriter file_range_writer(int fd);

// Where in a 4 KiB page the store holds byte `offset` of the blob
// (BlobSlot::page_offset): a fetch gathers the bytes for `offset` at that
// place in a page of its buffer, so the store can write whole pages of them
// past the page cache.
using PageOffset = std::function<std::size_t(std::int64_t offset)>;

// Bytes a fetch gathers before it hands them to the RangeWriter.
inline constexpr std::int64_t kWriteBytes = 1 << 20;

// One blob being downloaded; shared by the threads fetching its ranges.
class BlobFetch {
 public:
  // No `page_offset`: the store's file holds the blob from a page boundary.
  BlobFetch(RegistrySession& session, Descriptor descriptor, RangeWriter write,
            TransferContext& reporter, PageOffset page_offset = {})
      : session_(session),
        d_(std::move(descriptor)),
        url_(session, d_.digest),
        write_(std::move(write)),
        page_offset_(std::move(page_offset)),
        reporter_(reporter) {}

  // Fetches bytes [begin, end) into the RangeWriter at the same offsets, in
  // order, in pieces of up to kWriteBytes (a piece is written once it is
  // complete, so bytes of a fetch that fails may not have been written). Throws
  // what get_range throws: TransportError once kMaxDownloadAttempts GETs in a
  // row have failed without progress, ServiceError ("HTTP <status>") for a 4xx, IntegrityError when
  // the server sends more than asked, Cancelled when the reporter is cancelled.
  void fetch(std::int64_t begin, std::int64_t end);

  const Descriptor& descriptor() const noexcept { return d_; }
  std::int64_t bytes_received() const;

  // The share of its lanes' time (each fetch() call is a lane) spent storing
  // what they received (writing, hashing, reading back) rather than waiting
  // for it: near 1 when the link outruns this machine's work on the bytes,
  // near 0 on a link slower than that. nullopt until the lanes have run for
  // kBusyEvidence together.
  std::optional<double> busy_share() const;
  static constexpr std::chrono::milliseconds kBusyEvidence{20};

 private:
  using Clock = std::chrono::steady_clock;
  void add_progress(std::int64_t n);
  void add_busy(Clock::duration d);

  RegistrySession& session_;
  Descriptor d_;
  DownloadUrl url_;
  RangeWriter write_;
  PageOffset page_offset_;
  TransferContext& reporter_;
  mutable std::mutex mutex_;
  std::int64_t received_ = 0;
  std::int64_t reported_ = 0;
  // For busy_share(): time spent storing, the summed time of lanes that have
  // ended, and the lanes running now (their count and summed start times).
  Clock::duration busy_{};
  Clock::duration ended_lanes_{};
  int live_lanes_ = 0;
  Clock::duration live_starts_{};
};

}  // namespace ecr::transfer
