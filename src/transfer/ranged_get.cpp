#include "transfer/ranged_get.hpp"

#include "ecr/service_errors.hpp"
#include "transfer/engine.hpp"

namespace ecr::transfer {

std::string DownloadUrl::get() {
  const std::lock_guard lock(mutex_);
  if (url_.empty()) {
    api::GetDownloadUrlForLayerRequest req;
    req.registryId = session_.registry_id();
    req.repositoryName = session_.repository();
    req.layerDigest = digest_.str();
    auto answer = session_.call<api::GetDownloadUrlForLayerResponse>("GetDownloadUrlForLayer", req);
    if (!answer.downloadUrl || answer.downloadUrl->empty()) {
      throw InputError("GetDownloadUrlForLayer answered no URL for " + digest_.str());
    }
    url_ = std::move(*answer.downloadUrl);
  }
  return url_;
}

void DownloadUrl::expire(const std::string& stale) {
  const std::lock_guard lock(mutex_);
  if (url_ == stale) url_.clear();
}

void get_range(RegistrySession& session, DownloadUrl& url, const Descriptor& blob,
               std::int64_t begin, std::int64_t end, const RangeSink& sink,
               const CancelCheck& cancelled) {
  std::int64_t pos = begin;  // the first byte not yet handed to `sink`
  aws::RetryPolicy& policy = session.retry_policy();
  aws::RequestRetries retries;
  for (;;) {
    if (cancelled()) throw Cancelled();
    const std::int64_t attempt_began_at = pos;
    // After a failed GET: resume from `pos` when attempts remain. A GET that
    // delivered bytes before failing made progress and costs no attempt, so
    // a long download over a link that breaks often still finishes; only
    // kMaxDownloadAttempts failures in a row without a byte give up.
    const auto retry_or_throw = [&](const std::string& failure) {
      const TransportError error(failure);
      if (cancelled()) throw Cancelled();
      if (!policy.prepare_resume(retries, error, pos > attempt_began_at, kMaxDownloadAttempts)) {
        if (cancelled()) throw Cancelled();
        throw TransportError("downloading " + blob.digest.str() + " failed " +
                             std::to_string(retries.attempts) +
                             " times in a row without progress; last: " + failure);
      }
    };
    const std::string u = url.get();
    http::Request request;
    request.url = u;
    // The whole blob in one GET needs no Range (some servers answer 200 to it).
    const bool ranged = pos != 0 || end != blob.size;
    if (ranged) {
      request.headers.emplace_back("Range",
                                   "bytes=" + std::to_string(pos) + "-" + std::to_string(end - 1));
    }
    bool overflow = false;
    const http::BodySink body = [&](std::string_view chunk) {
      if (cancelled()) return false;
      if (pos + static_cast<std::int64_t>(chunk.size()) > end) {
        overflow = true;
        return false;
      }
      sink(pos, chunk);
      pos += static_cast<std::int64_t>(chunk.size());
      return true;
    };
    http::Response response;
    try {
      response = session.transport().send(request, body);
    } catch (const TransportError& e) {
      if (cancelled()) throw Cancelled();
      if (overflow) {
        throw IntegrityError("the registry sent more than the " + std::to_string(blob.size) +
                             " bytes of " + blob.digest.str());
      }
      // Resume from `pos`: the bytes before it are with the sink already.
      retry_or_throw(e.what());
      continue;
    }
    if (response.status == 403) {
      // Pre-signed URLs expire (X-Amz-Expires): ask for a fresh one.
      url.expire(u);
      retry_or_throw("HTTP 403 (expired URL?)");
      continue;
    }
    if (response.status >= 500) {
      retry_or_throw("HTTP " + std::to_string(response.status));
      continue;
    }
    if (response.status / 100 != 2) {
      throw ServiceError("HTTP " + std::to_string(response.status),
                         "GET " + blob.digest.str() + ": " + response.body.substr(0, 200),
                         response.status);
    }
    if (ranged && response.status != 206) {
      throw TransportError("the download URL of " + blob.digest.str() +
                           " ignored a Range request (HTTP " + std::to_string(response.status) +
                           ")");
    }
    if (pos >= end) {
      policy.record_success(retries);
      return;
    }
    retry_or_throw("body ended early");
  }
}

}  // namespace ecr::transfer
