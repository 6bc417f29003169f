// An UploadLayerPart's part written to its upload while the body still
// arrives (LayerPartIntake), before the request is checked.
//
// A 10 MiB part's durable write takes about 7 ms here; written after the
// body was all in, it was a quarter of each part's time on a big layer,
// whose parts go one after the other. The intake has the part's decoded
// bytes written as whole direct-I/O blocks while the rest of the body is
// still on its way, and Registry::upload_part writes only what is left,
// then syncs.
//
// The bytes lie past the end of what the upload holds, where nothing counts
// until upload_part accepts the request (the same place an unacknowledged
// part's bytes lie after a crash). One IncomingPart at a time writes to an
// upload, and a later request for the same upload stops it before writing
// anything itself: a client that gave up on a stalled part and sent it
// again, on another connection, takes the upload over, and the stalled
// request writes nothing more ahead (should it still end, it is handled as
// a part with nothing written ahead: whichever of the two is accepted
// first counts, and the other is refused as not following). Likewise a
// part or a completion handled meanwhile stops it first, so no write lands
// in bytes the upload has accepted or in a completed blob. A request that is
// refused, or ends without being handled, cuts its bytes away when its
// IncomingPart goes, unless another has taken the upload over.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <future>
#include <mutex>
#include <string>
#include <string_view>

#include "core/file.hpp"
#include "server/layer_part_intake.hpp"

namespace ecr::server {

class Registry;

class IncomingPart final : public WriteAhead {
 public:
  static constexpr std::size_t kMinWriteBytes = 1u << 20;

  ~IncomingPart() override;
  IncomingPart(const IncomingPart&) = delete;
  IncomingPart& operator=(const IncomingPart&) = delete;

  const std::string& upload_id() const noexcept { return upload_id_; }
  std::int64_t first_byte() const noexcept { return first_byte_; }
  // The part's first bytes written: [0, written()). Waits for the write in
  // flight.
  std::size_t written() noexcept;

  // Starts writing the part's bytes [written(), ready), which lie at `part`
  // + the same offsets, on one of the registry's workers, and returns at
  // once; while a write is in flight, or while fewer than kMinWriteBytes
  // wait, it does nothing (the bytes go with a later call, or with
  // upload_part's write of the rest). `part` is block-aligned and `ready` a whole number of
  // blocks; the bytes must stay where they are until written() or the
  // destructor returns. Best effort: once a write fails or the file system
  // refuses direct I/O, it writes nothing more, and upload_part writes the
  // rest (and reports a failing disk as it would).
  void write_up_to(const char* part, std::size_t ready) noexcept override;
  // Waits for the write in flight, if any.
  void wait() noexcept override;
  // Makes it write nothing more; once it returns, no write of it runs.
  void stop() noexcept;

 private:
  friend class Registry;
  IncomingPart(Registry& registry, std::string upload_id, std::int64_t first_byte, UniqueFd file)
      : registry_(registry),
        upload_id_(std::move(upload_id)),
        first_byte_(first_byte),
        file_(std::move(file)) {}

  Registry& registry_;
  std::future<void> in_flight_;
  std::string upload_id_;
  std::int64_t first_byte_ = 0;
  UniqueFd file_;  // the upload's file, opened for direct I/O
  std::size_t written_ = 0;
  bool stopped_ = false;                 // a write failed: no more from the intake
  std::mutex write_mu_;                  // held by a write while it runs
  std::atomic<bool> superseded_{false};  // stop(): no more writes at all
  bool committed_ = false;               // accepted by upload_part: the bytes stay
};

}  // namespace ecr::server
