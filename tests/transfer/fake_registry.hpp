// An in-memory ECR speaking awsJson1_1 as an http::Transport: it decodes
// X-Amz-Target, keeps uploads, blobs and images, serves download URLs with
// Range, and injects one scripted fault per case (throttle, reset mid-part,
// expired URL, corrupt or cut download).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "http/transport.hpp"
#include "transfer/registry_session.hpp"

namespace ecr::testing {

class FakeRegistry final : public http::Transport {
 public:
  static constexpr const char* kEndpoint = "http://fake-ecr.invalid";

  http::Response send(const http::Request& request) override;
  http::Response send(const http::Request& request, const http::BodySink& sink) override;

  // --- configuration and scripted faults (set before the transfer) ---
  std::int64_t part_size = 4096;
  // The next `throttles` calls of `throttle_operation` answer ThrottlingException.
  std::string throttle_operation;
  int throttles = 0;
  // Once: the UploadLayerPart that crosses this byte offset of an upload keeps
  // the bytes up to it, then the connection "resets" (TransportError).
  std::optional<std::int64_t> reset_part_at;
  // Once: the first UploadLayerPart starting at or past `forget.first` finds
  // its upload cut back to `forget.second` bytes (a registry that lost bytes
  // it had acknowledged), so it is refused with lastValidByteReceived
  // forget.second - 1.
  std::optional<std::pair<std::int64_t, std::int64_t>> forget;
  // Once: the first UploadLayerPart starting at or past this byte finds its
  // upload gone (UploadNotFoundException).
  std::optional<std::int64_t> vanish_upload_at;
  // Once per blob digest: the first GET answers 403 (an expired URL).
  std::set<std::string> expire_first_get;
  // The first GET of these digests delivers a flipped byte.
  std::set<std::string> corrupt_first_get;
  // Every GET of these digests delivers a flipped byte.
  std::set<std::string> corrupt_always;
  // Once: a GET is cut after this many body bytes (TransportError).
  std::optional<std::int64_t> cut_get_after;
  // A slow link: each GET's body chunk of 1,000 bytes comes this long after
  // the one before.
  std::chrono::milliseconds get_chunk_interval{0};

  // --- what happened ---
  std::vector<std::string> operations() const;
  int count(const std::string& operation) const;
  std::int64_t part_bytes_received() const;
  std::vector<std::string> range_headers() const;
  // The most GETs with a Range header that were sending a body at once.
  int most_ranged_gets_at_once() const;
  std::vector<std::string> put_image_digests() const;  // in PutImage order
  std::map<std::string, std::string> blobs() const;    // digest -> bytes

 private:
  http::Response handle_api(const http::Request& request);
  http::Response handle_get(const http::Request& request, const http::BodySink& sink);

  struct Upload {
    std::string bytes;
  };
  struct StoredImage {
    std::string manifest;
    std::string media_type;
    std::string digest;
  };

  mutable std::mutex mutex_;
  std::vector<std::string> operations_;
  std::int64_t part_bytes_ = 0;
  std::vector<std::string> ranges_;
  int gets_now_ = 0;
  int gets_most_ = 0;
  std::vector<std::string> put_digests_;
  std::map<std::string, Upload> uploads_;
  std::map<std::string, std::string> blobs_;
  std::map<std::string, StoredImage> images_;  // by digest
  std::map<std::string, std::string> tags_;    // tag -> digest
  int next_upload_ = 0;
  int next_url_ = 0;
};

// A session on repository "team/app" of `registry`, with example
// credentials and a retry policy that never sleeps: each back-off is handed
// to `on_backoff` instead, when given (a test counts the retries with it).
std::unique_ptr<transfer::RegistrySession> open_fake_session(
    std::shared_ptr<FakeRegistry> registry,
    std::function<void(std::chrono::milliseconds)> on_backoff = {});

}  // namespace ecr::testing
