#include "transfer/blob_download.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "ecr/errors.hpp"
#include "transfer/engine.hpp"

namespace ecr::transfer {

RangeWriter file_range_writer(int fd) {
  return [fd](std::int64_t offset, std::string_view bytes) {
    std::size_t written = 0;
    while (written < bytes.size()) {
      const ssize_t n = ::pwrite(fd, bytes.data() + written, bytes.size() - written,
                                 static_cast<off_t>(offset + static_cast<std::int64_t>(written)));
      if (n < 0) {
        if (errno == EINTR) continue;
        throw InputError("writing a downloaded blob: " + std::string(std::strerror(errno)));
      }
      written += static_cast<std::size_t>(n);
    }
  };
}

std::string BlobFetch::url() {
  const std::lock_guard lock(mutex_);
  if (url_.empty()) {
    api::GetDownloadUrlForLayerRequest req;
    req.registryId = session_.registry_id();
    req.repositoryName = session_.repository();
    req.layerDigest = d_.digest.str();
    auto answer = session_.call<api::GetDownloadUrlForLayerResponse>("GetDownloadUrlForLayer", req);
    if (!answer.downloadUrl || answer.downloadUrl->empty()) {
      throw InputError("GetDownloadUrlForLayer answered no URL for " + d_.digest.str());
    }
    url_ = std::move(*answer.downloadUrl);
  }
  return url_;
}

void BlobFetch::refresh(const std::string& stale) {
  const std::lock_guard lock(mutex_);
  if (url_ == stale) url_.clear();
}

void BlobFetch::add_progress(std::int64_t n) {
  std::int64_t done = 0;
  {
    const std::lock_guard lock(mutex_);
    received_ += n;
    if (received_ - reported_ < kProgressStep && received_ < d_.size) return;
    reported_ = received_;
    done = received_;
  }
  reporter_.report(d_.digest, BlobState::kDownloading, std::min(done, d_.size), d_.size);
}

std::int64_t BlobFetch::bytes_received() const {
  const std::lock_guard lock(mutex_);
  return received_;
}

void BlobFetch::fetch(std::int64_t begin, std::int64_t end) {
  std::int64_t pos = begin;
  int attempts = 0;
  std::string last_failure;
  for (bool complete = false; !complete;) {
    reporter_.throw_if_cancelled();
    if (attempts >= kMaxDownloadAttempts) {
      throw TransportError("downloading " + d_.digest.str() + " failed " +
                           std::to_string(attempts) + " times; last: " + last_failure);
    }
    ++attempts;
    const std::string u = url();
    http::Request request;
    request.url = u;
    const bool ranged = pos != 0 || end != d_.size;
    if (ranged) {
      request.headers.emplace_back("Range",
                                   "bytes=" + std::to_string(pos) + "-" + std::to_string(end - 1));
    }
    bool overflow = false;
    const http::BodySink sink = [&](std::string_view chunk) {
      if (reporter_.cancelled()) return false;
      if (pos + static_cast<std::int64_t>(chunk.size()) > end) {
        overflow = true;
        return false;
      }
      write_(pos, chunk);
      pos += static_cast<std::int64_t>(chunk.size());
      add_progress(static_cast<std::int64_t>(chunk.size()));
      return true;
    };
    http::Response response;
    try {
      response = session_.transport().send(request, sink);
    } catch (const TransportError& e) {
      reporter_.throw_if_cancelled();
      if (overflow) {
        throw IntegrityError("the registry sent more than the " + std::to_string(d_.size) +
                             " bytes of " + d_.digest.str());
      }
      // Resume from `pos`: the bytes before it are in the file already.
      last_failure = e.what();
      continue;
    }
    if (response.status == 403) {
      // Pre-signed URLs expire (X-Amz-Expires): ask for a fresh one.
      last_failure = "HTTP 403 (expired URL?)";
      refresh(u);
      continue;
    }
    if (response.status / 100 != 2) {
      if (response.status >= 500) {
        last_failure = "HTTP " + std::to_string(response.status);
        continue;
      }
      throw ServiceError("HTTP " + std::to_string(response.status),
                         "GET " + d_.digest.str() + ": " + response.body.substr(0, 200),
                         response.status);
    }
    if (ranged && response.status != 206) {
      throw TransportError("the download URL of " + d_.digest.str() +
                           " ignored a Range request (HTTP " + std::to_string(response.status) +
                           ")");
    }
    complete = pos >= end;
    if (!complete) last_failure = "body ended early";
  }
}

Digest hash_file(int fd, std::int64_t size) {
  Sha256 hash;
  std::vector<char> buffer(1 << 20);
  std::int64_t off = 0;
  while (off < size) {
    const auto want = static_cast<std::size_t>(
        std::min<std::int64_t>(size - off, static_cast<std::int64_t>(buffer.size())));
    const ssize_t n = ::pread(fd, buffer.data(), want, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw InputError("reading back a downloaded blob failed");
    hash.update(buffer.data(), static_cast<std::size_t>(n));
    off += n;
  }
  return hash.finish();
}

}  // namespace ecr::transfer
