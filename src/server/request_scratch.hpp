// The memory a request is handled in, kept between requests.
//
// An UploadLayerPart request is ~28 MB of JSON (a 20 MiB part in base64).
// Taken fresh per request, its body buffer, the JSON parser's buffers and the
// decoded part cost a page fault and a zeroed page for every 4 KiB, which
// profiling a 770 MB push showed as a large share of ecr-local's CPU. A
// request instead leases a scratch from a small pool and returns it, warm,
// when it is answered; memory stays bounded by the requests in flight plus
// the few scratches kept.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "server/layer_part_intake.hpp"

namespace ecr::server {

struct RequestScratch {
  // The request body; its capacity leaves simdjson::SIMDJSON_PADDING bytes
  // after the body, so the JSON is parsed where it lies, without a copy.
  std::string body;
  simdjson::dom::parser parser;
  // A decoded layer part: holds at least the part's bytes; only grows, so a
  // warm buffer is never cleared or zeroed again.
  std::string part;
  // An UploadLayerPart body's intake, when the listener takes it in as it
  // arrives (BodyPlan::layer_part); cleared at every lease.
  LayerPartIntake intake;
};

class ScratchPool {
 public:
  // Scratches kept between requests: the client's default of 4 parallel part
  // uploads (kDefaultTransferJobs) finds them warm; more requests in flight
  // get fresh ones that are freed when answered.
  static constexpr std::size_t kKept = 4;

  class Lease {
   public:
    Lease(ScratchPool& pool, std::unique_ptr<RequestScratch> scratch)
        : pool_(pool), scratch_(std::move(scratch)) {}
    ~Lease() { pool_.give_back(std::move(scratch_)); }
    // A moved-from lease gives nothing back.
    Lease(Lease&& other) noexcept : pool_(other.pool_), scratch_(std::move(other.scratch_)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    RequestScratch& operator*() const noexcept { return *scratch_; }
    RequestScratch* operator->() const noexcept { return scratch_.get(); }

   private:
    ScratchPool& pool_;
    std::unique_ptr<RequestScratch> scratch_;
  };

  ScratchPool() { kept_.reserve(kKept); }

  // A kept scratch, or a new one when none is free.
  Lease lease();

 private:
  void give_back(std::unique_ptr<RequestScratch> scratch) noexcept;

  std::mutex mu_;
  std::vector<std::unique_ptr<RequestScratch>> kept_;
};

}  // namespace ecr::server
