// SHA-256 of a file that is written at any offsets, from several threads,
// computed as much as possible while it is written.
//
// Bytes that land at the hashed frontier are hashed from the caller's
// buffer. Bytes that land beyond it are noted, and read back from the file
// (while they are still in the page cache) as soon as the frontier reaches
// them, by the thread whose write moved it. So a blob fetched as parallel
// ranges is hashed during the download, not all at the end, and bytes that
// arrive in order are never read back. A write inside the hashed prefix (the
// same bytes fetched twice) makes finish() hash the whole file again. All
// hashing goes through HashMeet::shared(), so the bytes of two files landing
// at once on two threads are hashed together on one.
//
// Over a link that feeds its connections in turns (one for a few MiB, then
// another), two files rarely land at once. So bytes landing at the frontier
// with no partner at hand are set aside, unhashed, when another file's bytes
// landed lately (within kPartnerRecent) but not just now (within HashMeet's
// `recent`, when the meet pairs them live), up to kSetAsideBytes: the next
// piece of another file to land is hashed together with as many of them,
// read back. Set-aside bytes are read back once, then hashed in a pair: two
// streams together cost 0.3 CPU-s per GB of their bytes, one alone 0.55
// (docs/performance.md, 2026-12-05 03:50).
//
// A writer whose bytes go past the page cache (core/direct_writer.hpp) hands
// them over with take() instead: set-aside bytes are then held in memory
// (the download's own piece, core/piece_pool.hpp; up to kHeldPieces for the
// process), as reading them back would go to the device.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "core/piece_pool.hpp"
#include "core/sha256_lanes.hpp"
#include "ecr/digest.hpp"

namespace ecr {

class InOrderHasher {
 public:
  // `fd` (not owned) holds the file of `size` bytes from byte `base` of the
  // file on (0: the whole file; an archive member's data elsewhere); offsets
  // given to landed() count from `base`. `path` names the file in errors.
  InOrderHasher(int fd, std::int64_t size, std::filesystem::path path, std::int64_t base = 0);
  ~InOrderHasher();
  InOrderHasher(const InOrderHasher&) = delete;
  InOrderHasher& operator=(const InOrderHasher&) = delete;

  // The most bytes at its frontier a file sets aside for a partner, and how
  // lately another file must have had bytes land for that.
  static constexpr std::int64_t kSetAsideBytes = 16 << 20;
  static constexpr std::chrono::milliseconds kPartnerRecent{500};
  // The most pieces of set-aside bytes the process's files hold in memory
  // (take(); a piece is up to kPieceBytes, core/piece_pool.hpp): past them,
  // bytes are hashed at once.
  static constexpr std::size_t kHeldPieces = 32;

  // Records that `data` was written at `offset` of the file (after the
  // write). Thread-safe. Throws InputError when a read-back fails.
  void landed(std::int64_t offset, std::span<const std::byte> data);

  // For a writer that hashes while its write is still on the way to the
  // file, and past the page cache (core/direct_writer.hpp), so that reading
  // its bytes back would go to the device:
  // - would_take(): whether take() would take bytes at `offset`: they
  //   extend the bytes landed in order from the file's start (hashed, or set
  //   aside for a partner). Thread-safe.
  // - take(): takes `data`, being written at `offset`, and returns true: it
  //   is hashed now from the caller's memory, or, when landed() would set it
  //   aside, held in memory for a partner: the calling thread's gathering
  //   piece when `data` lies in it (share_gathering_piece), else a copy
  //   (hashed at once instead when the process holds kHeldPieces already).
  //   The caller's bytes are then done with. Otherwise records nothing and
  //   returns false: call landed() once the write has ended. Thread-safe.
  //   Throws InputError when a read-back of other bytes fails.
  bool would_take(std::int64_t offset) const;
  bool take(std::int64_t offset, std::span<const std::byte> data);

  // The digest of the file's `size` bytes: what was not hashed on the way is
  // read back (a range never written reads as zeros). Call once, after the
  // last landed(). Throws InputError when a read fails.
  Digest finish();

  // Bytes hashed so far, from the start of the file.
  std::int64_t hashed() const;

 private:
  using Clock = std::chrono::steady_clock;

  // Notes that bytes land now, and joins the files that may pair. Holds mutex_.
  Clock::time_point arrive();
  // Hashes `data`, landing at `offset`, when it is at the frontier and not
  // to be set aside; false (and nothing done) otherwise. Holds mutex_.
  bool hash_at_frontier(std::int64_t offset, std::span<const std::byte> data,
                        Clock::time_point now);
  // Notes [offset, end) as written and not hashed, merged with the stretches
  // it touches. Holds mutex_.
  void note_pending(std::int64_t offset, std::int64_t end);
  // Holds `data`, at `offset` (the end of the bytes landed in order), in
  // memory, set aside; false when the process holds kHeldPieces. Holds mutex_.
  bool hold(std::int64_t offset, std::span<const std::byte> data);
  // Hashes the pending bytes the frontier has reached. Holds mutex_.
  void catch_up();
  void hash_from_file(std::int64_t end);
  // Up to `buffer.size()` bytes from hashed_to_ on, before `end`: from held
  // memory, or read from the file into `buffer`. Empty at the file's end.
  // Holds mutex_. Throws InputError when the read fails.
  std::span<const std::byte> bytes_at_frontier(std::span<std::byte> buffer, std::int64_t end);
  // Moves hashed_to_ on by `n` hashed bytes, freeing held memory behind it.
  // Holds mutex_.
  void hashed_on(std::size_t n);
  // Feeds `size` bytes at `data` to hash_: together with another file's
  // set-aside bytes when one has some, else through HashMeet. Holds mutex_.
  void hash(const std::byte* data, std::size_t size);
  // Bytes landed at the frontier and set aside unhashed. Holds mutex_.
  std::int64_t set_aside() const;
  // Whether `size` more bytes at the frontier may be set aside. Holds mutex_.
  bool may_set_aside(std::size_t size, Clock::time_point now) const;
  // Feeds `size` bytes at `data` to hash_ beside up to as many of another
  // file's set-aside bytes, read back; false when no file has any free to
  // take. Holds mutex_ (and takes the other's only if it is free).
  bool pair_with_set_aside(const std::byte* data, std::size_t size);
  void join();   // into the files that may pair (holds mutex_)
  void leave();  // from them

  int fd_;
  std::int64_t base_;
  std::int64_t size_;
  std::filesystem::path path_;
  mutable std::mutex mutex_;
  Sha256Lane hash_;  // fed through HashMeet::shared(), or beside another file's set-aside bytes
  std::int64_t hashed_to_ = 0;
  bool rehash_ = false;
  // Written but not hashed yet: disjoint [begin, end) stretches from
  // hashed_to_ on (one that begins there is set aside), keyed by begin,
  // adjacent ones merged.
  std::map<std::int64_t, std::int64_t> pending_;
  // Set-aside bytes held in memory (take()), in offset order, each inside
  // the stretch at hashed_to_; let go as hashed_to_ passes them.
  struct LetGo {
    void operator()(std::atomic<std::size_t>* held) const { --*held; }
  };
  struct HeldPiece {
    std::int64_t offset = 0;
    std::span<const std::byte> bytes;  // in `memory`
    SharedPiece memory;
    std::unique_ptr<std::atomic<std::size_t>, LetGo> counted;  // one of kHeldPieces
  };
  std::vector<HeldPiece> held_;
  bool joined_ = false;
  // When bytes last landed, in Clock's ticks (read by other files' threads).
  std::atomic<Clock::rep> landed_at_{0};
};

}  // namespace ecr
