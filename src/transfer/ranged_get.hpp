// GETs of a registry blob's download URL, the one way the transfer engine
// reads blob bytes from ECR: the pull engine (BlobFetch, parallel ranges
// written into a file) and the registry image source (EcrImageSource,
// consecutive ranges read into a buffer) both fetch through get_range.
//   - The URL comes from GetDownloadUrlForLayer, once per blob, and is asked
//     for again when a GET answers 403: pre-signed URLs expire
//     (X-Amz-Expires).
//   - A GET cut by a reset, answered 5xx or ending early is sent again for
//     the first byte not yet received, with a Range header that must be
//     answered 206; the bytes already received are kept.
//   - A body longer than asked is an IntegrityError; the extra bytes are not
//     handed on.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "ecr/image.hpp"
#include "transfer/registry_session.hpp"

namespace ecr::transfer {

// The download URL of one blob. Thread-safe: the ranges of a blob fetched in
// parallel share it, and an expiry that several of them meet is refreshed once.
class DownloadUrl {
 public:
  DownloadUrl(RegistrySession& session, Digest digest)
      : session_(session), digest_(std::move(digest)) {}

  // The URL to GET, from GetDownloadUrlForLayer when there is none yet.
  // Throws what the call throws; InputError when it answers no URL.
  std::string get();
  // Forgets `stale` so that the next get() asks for a new URL, unless another
  // range already replaced it.
  void expire(const std::string& stale);

 private:
  RegistrySession& session_;
  Digest digest_;
  std::mutex mutex_;
  std::string url_;
};

// Receives a range's body bytes as they arrive; `offset` is where `bytes`
// start in the blob. The calls for one range come in order; after a resume
// they go on at the first byte not yet received. Throws to stop the fetch.
using RangeSink = std::function<void(std::int64_t offset, std::string_view bytes)>;

// Polled before each GET and between body chunks; true stops the fetch.
using CancelCheck = std::function<bool()>;

// GETs bytes [begin, end) of `blob` (the whole blob without a Range header)
// through `url` into `sink`. A failed GET (reset, stall, 5xx, short body,
// expired URL) is resumed from the first byte missing, under the session's
// retry policy (its quota; a backoff unless the GET made progress). Throws
// TransportError naming the last failure once kMaxDownloadAttempts GETs in a
// row have failed without delivering a byte, or the retry quota is spent; TransportError at once when a Range is answered with a 2xx other than
// 206; ServiceError "HTTP <status>" for a 4xx other than 403; IntegrityError
// when the server sends more than asked; Cancelled; what `sink` throws.
void get_range(RegistrySession& session, DownloadUrl& url, const Descriptor& blob,
               std::int64_t begin, std::int64_t end, const RangeSink& sink,
               const CancelCheck& cancelled);

}  // namespace ecr::transfer
