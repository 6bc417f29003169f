#include "transfer/ecr_source.hpp"

#include <algorithm>
#include <cstring>

#include "ecr/errors.hpp"
#include "ecr/transfer.hpp"

namespace ecr::transfer {
namespace {

// One registry blob read front to back as a series of ranged GETs of its
// download URL. A failed range (reset, 5xx, short body) is asked again from
// the byte it stopped at; an expired URL (403) is replaced.
class RangedBlobStream final : public ByteStream {
 public:
  RangedBlobStream(RegistrySession& session, Descriptor descriptor, const std::atomic<bool>* cancel)
      : session_(session), d_(std::move(descriptor)), cancel_(cancel) {}

  std::size_t read(std::span<std::byte> out) override {
    if (used_ == buffer_.size()) {
      if (next_ >= d_.size) return 0;
      fetch(next_, std::min(d_.size, next_ + kSourceRangeBytes));
    }
    const std::size_t n = std::min(out.size(), buffer_.size() - used_);
    std::memcpy(out.data(), buffer_.data() + used_, n);
    used_ += n;
    return n;
  }

 private:
  bool cancelled() const { return cancel_ && cancel_->load(); }

  const std::string& url() {
    if (url_.empty()) {
      api::GetDownloadUrlForLayerRequest req;
      req.registryId = session_.registry_id();
      req.repositoryName = session_.repository();
      req.layerDigest = d_.digest.str();
      auto answer =
          session_.call<api::GetDownloadUrlForLayerResponse>("GetDownloadUrlForLayer", req);
      if (!answer.downloadUrl || answer.downloadUrl->empty()) {
        throw InputError("GetDownloadUrlForLayer answered no URL for " + d_.digest.str());
      }
      url_ = std::move(*answer.downloadUrl);
    }
    return url_;
  }

  // Fills the buffer with blob bytes [begin, end).
  void fetch(std::int64_t begin, std::int64_t end) {
    buffer_.clear();
    used_ = 0;
    std::string last_failure;
    for (int attempt = 0;; ++attempt) {
      if (cancelled()) throw Cancelled();
      if (attempt >= kSourceRangeAttempts) {
        throw TransportError("downloading " + d_.digest.str() + " failed " +
                             std::to_string(attempt) + " times; last: " + last_failure);
      }
      const std::int64_t from = begin + static_cast<std::int64_t>(buffer_.size());
      http::Request request;
      request.url = url();
      // The whole blob in one GET needs no Range (some servers answer 200 to it).
      const bool ranged = from != 0 || end != d_.size;
      if (ranged) {
        request.headers.emplace_back(
            "Range", "bytes=" + std::to_string(from) + "-" + std::to_string(end - 1));
      }
      bool overflow = false;
      const http::BodySink sink = [&](std::string_view chunk) {
        if (cancelled()) return false;
        if (begin + static_cast<std::int64_t>(buffer_.size() + chunk.size()) > end) {
          overflow = true;
          return false;
        }
        buffer_.append(chunk);
        return true;
      };
      http::Response response;
      try {
        response = session_.transport().send(request, sink);
      } catch (const TransportError& e) {
        if (cancelled()) throw Cancelled();
        if (overflow) {
          throw IntegrityError("the registry sent more than the " + std::to_string(d_.size) +
                               " bytes of " + d_.digest.str());
        }
        last_failure = e.what();
        continue;
      }
      if (response.status == 403) {
        // Pre-signed URLs expire (X-Amz-Expires): ask for a fresh one.
        last_failure = "HTTP 403 (expired URL?)";
        url_.clear();
        continue;
      }
      if (response.status >= 500) {
        last_failure = "HTTP " + std::to_string(response.status);
        continue;
      }
      if (response.status / 100 != 2) {
        throw ServiceError("HTTP " + std::to_string(response.status),
                           "GET " + d_.digest.str() + ": " + response.body.substr(0, 200),
                           response.status);
      }
      if (ranged && response.status != 206) {
        throw TransportError("the download URL of " + d_.digest.str() +
                             " ignored a Range request (HTTP " + std::to_string(response.status) +
                             ")");
      }
      if (begin + static_cast<std::int64_t>(buffer_.size()) >= end) break;
      last_failure = "body ended early";
    }
    next_ = end;
  }

  RegistrySession& session_;
  Descriptor d_;
  const std::atomic<bool>* cancel_;
  std::string url_;
  std::string buffer_;    // blob bytes [next_ - buffer_.size(), next_)
  std::size_t used_ = 0;  // of buffer_, already returned by read()
  std::int64_t next_ = 0;
};

}  // namespace

const std::vector<std::string>& accepted_manifest_media_types() {
  static const std::vector<std::string> types = {
      std::string(media_type::kOciIndex), std::string(media_type::kOciManifest),
      std::string(media_type::kDockerManifestList), std::string(media_type::kDockerManifest)};
  return types;
}

EcrImageSource::EcrImageSource(std::unique_ptr<RegistrySession> session, std::string default_ref,
                               const std::atomic<bool>* cancel)
    : session_(std::move(session)), default_ref_(std::move(default_ref)), cancel_(cancel) {}

std::vector<ImageEntry> EcrImageSource::list() { return resolved_; }

ParsedManifest EcrImageSource::get(const std::optional<std::string>& tag,
                                   const std::optional<Digest>& digest) {
  const std::string what =
      session_->repository() + (digest ? "@" + digest->str() : ":" + tag.value_or("latest"));
  api::ImageIdentifier id;
  if (digest) id.imageDigest = digest->str();
  if (tag) id.imageTag = tag;
  api::BatchGetImageRequest req;
  req.registryId = session_->registry_id();
  req.repositoryName = session_->repository();
  req.imageIds = {id};
  req.acceptedMediaTypes = accepted_manifest_media_types();
  const auto answer = session_->call<api::BatchGetImageResponse>("BatchGetImage", req);
  if (answer.failures && !answer.failures->empty()) {
    // Failures are data in the API; a missing image is an error to a copy.
    const auto& f = answer.failures->front();
    throw ServiceError(f.failureCode.value_or("ImageNotFound"),
                       "image " + what + ": " + f.failureReason.value_or("no reason given"));
  }
  if (!answer.images || answer.images->empty() || !answer.images->front().imageManifest) {
    throw ServiceError("ImageNotFound", "image " + what + ": BatchGetImage answered no image");
  }
  const api::Image& image = answer.images->front();
  ParsedManifest m =
      parse_manifest(*image.imageManifest, image.imageManifestMediaType.value_or(""));
  if (digest && m.digest != *digest) {
    throw IntegrityError("BatchGetImage for " + digest->str() +
                         " answered a manifest with digest " + m.digest.str());
  }
  return m;
}

ParsedManifest EcrImageSource::resolve(std::string_view ref) {
  const std::string wanted(ref.empty() ? std::string_view(default_ref_) : ref);
  ParsedManifest m = Digest::valid(wanted) ? get(std::nullopt, Digest::parse(wanted))
                                           : get(wanted.empty() ? "latest" : wanted, std::nullopt);
  ImageEntry entry{.names = {}, .descriptor = m.descriptor()};
  if (!Digest::valid(wanted)) entry.names.push_back(wanted.empty() ? "latest" : wanted);
  const auto same = std::find_if(resolved_.begin(), resolved_.end(), [&](const ImageEntry& e) {
    return e.descriptor.digest == m.digest;
  });
  if (same == resolved_.end()) {
    resolved_.push_back(std::move(entry));
  } else if (!entry.names.empty() && std::find(same->names.begin(), same->names.end(),
                                               entry.names.front()) == same->names.end()) {
    same->names.push_back(entry.names.front());
  }
  return m;
}

ParsedManifest EcrImageSource::fetch_manifest(const Descriptor& descriptor) {
  ParsedManifest m = get(std::nullopt, descriptor.digest);
  if (static_cast<std::int64_t>(m.raw.size()) != descriptor.size) {
    throw IntegrityError("manifest " + descriptor.digest.str() + " is " +
                         std::to_string(m.raw.size()) + " bytes; its descriptor says " +
                         std::to_string(descriptor.size));
  }
  return m;
}

std::unique_ptr<ByteStream> EcrImageSource::open_raw(const Descriptor& descriptor) {
  return std::make_unique<RangedBlobStream>(*session_, descriptor, cancel_);
}

}  // namespace ecr::transfer

namespace ecr {

std::unique_ptr<ImageSource> open_registry_source(const ImageReference& ref,
                                                  const ClientConfig& config,
                                                  const std::atomic<bool>* cancel,
                                                  std::shared_ptr<http::Transport> transport) {
  std::string default_ref = ref.digest ? ref.digest->str() : ref.tag.value_or("latest");
  return std::make_unique<transfer::EcrImageSource>(
      transfer::RegistrySession::open(config, ref, std::move(transport)), std::move(default_ref),
      cancel);
}

PushResult copy(const ImageReference& source, const ImageReference& dest,
                const ClientConfig& config, const TransferOptions& options,
                std::shared_ptr<http::Transport> transport) {
  options.validate();
  std::unique_ptr<ImageSource> from =
      open_registry_source(source, config, options.cancel, transport);
  return push(*from, "", dest, config, options, std::move(transport));
}

}  // namespace ecr
