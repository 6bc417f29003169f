// Where threads hashing different streams meet, so that two streams go
// through one core's SHA-NI together (sha256_lanes.hpp: 1.7x one stream's
// rate).
//
// A pull hashes each blob's bytes on the download worker that received them
// (InOrderHasher), so with several blobs arriving there are several streams,
// each on its own thread, each at one SHA-NI chain's latency-bound rate. A
// thread bringing bytes to the meet:
//   - takes the bytes of a thread already waiting there with another lane,
//     hashes both together (update_pair), then lets it go;
//   - else, when another lane was fed within `recent`, waits up to `patience`
//     for a partner, and hashes alone if none comes;
//   - else hashes alone at once: a lone stream (the last blob of a pull, one
//     big layer) never waits.
// (InOrderHasher also sets a file's bytes aside when another file's landed
// a while ago rather than just now, and pairs them with that file's next
// piece without the meet.)
// The waiting costs a worker wall time it would have spent receiving, while
// the others run; the pairing saves CPU the whole pull is short of (client
// and registry share the machine's cores in the bench, and CI runners are
// small). docs/performance.md has the figures.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>

#include "core/sha256_lanes.hpp"

namespace ecr {

class HashMeet {
 public:
  struct Timing {
    std::chrono::microseconds patience;  // the longest wait for a partner
    std::chrono::microseconds recent;    // another lane fed this recently: worth waiting
  };
  // A piece of 1 MiB (what a download hands over, transfer/blob_download.hpp)
  // hashes in about 0.6 ms alone; a download worker hands one over every few
  // milliseconds.
  static constexpr Timing kDownloads{std::chrono::microseconds(3000),
                                     std::chrono::microseconds(20000)};

  explicit HashMeet(Timing timing = kDownloads) : timing_(timing) {}
  HashMeet(const HashMeet&) = delete;
  HashMeet& operator=(const HashMeet&) = delete;

  // The process's meet, which every InOrderHasher feeds.
  static HashMeet& shared();

  // Feeds `size` bytes at `data` to `lane`, as lane.update() does, and returns
  // once they are fed. The bytes must stay untouched until then; the lane must
  // not be fed by anyone else meanwhile.
  void update(Sha256Lane& lane, const void* data, std::size_t size);

  struct Counts {
    std::uint64_t paired_bytes = 0;  // fed through update_pair, a longer piece's tail too
    std::uint64_t alone_bytes = 0;
  };
  Counts counts() const;
  // Counts bytes fed elsewhere (InOrderHasher pairs a piece with another
  // stream's bytes set aside), so counts() covers every pull's hashing.
  void add_counts(const Counts& more);
  // Whether a thread is waiting for a partner.
  bool has_waiting() const;

 private:
  struct Waiting {
    Sha256Lane* lane;
    const void* data;
    std::size_t size;
    bool taken = false;  // a partner has it (waiting_ no longer points here)
    bool done = false;   // its bytes are fed
  };
  using Clock = std::chrono::steady_clock;

  // Notes `lane` arriving at `now`; whether another lane was fed within
  // timing_.recent. Holds mutex_.
  bool other_lane_recent(const Sha256Lane* lane, Clock::time_point now);

  Timing timing_;
  mutable std::mutex mutex_;
  std::condition_variable met_;
  Waiting* waiting_ = nullptr;
  // The last lane that arrived, when, and when a lane other than it last did.
  const Sha256Lane* last_lane_ = nullptr;
  Clock::time_point last_at_{};
  Clock::time_point other_at_{};
  Counts counts_;
};

}  // namespace ecr
