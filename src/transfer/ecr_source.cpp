#include "transfer/ecr_source.hpp"

#include <algorithm>
#include <cstring>

#include "ecr/errors.hpp"
#include "ecr/transfer.hpp"
#include "transfer/ranged_get.hpp"

namespace ecr::transfer {
namespace {

// One registry blob read front to back as a series of ranged GETs of its
// download URL (get_range: a failed range is asked again from the byte it
// stopped at, an expired URL is replaced).
class RangedBlobStream final : public ByteStream {
 public:
  RangedBlobStream(RegistrySession& session, Descriptor descriptor, const std::atomic<bool>* cancel)
      : session_(session), d_(std::move(descriptor)), url_(session, d_.digest), cancel_(cancel) {}

  std::size_t read(std::span<std::byte> out) override {
    if (used_ == buffer_.size()) {
      if (next_ >= d_.size) return 0;
      fill(next_, std::min(d_.size, next_ + kSourceRangeBytes));
    }
    const std::size_t n = std::min(out.size(), buffer_.size() - used_);
    std::memcpy(out.data(), buffer_.data() + used_, n);
    used_ += n;
    return n;
  }

 private:
  // Fills the buffer with blob bytes [begin, end).
  void fill(std::int64_t begin, std::int64_t end) {
    buffer_.clear();
    used_ = 0;
    get_range(
        session_, url_, d_, begin, end,
        [this](std::int64_t, std::string_view bytes) { buffer_.append(bytes); },
        [this] { return cancel_ && cancel_->load(); });
    next_ = end;
  }

  RegistrySession& session_;
  Descriptor d_;
  DownloadUrl url_;
  const std::atomic<bool>* cancel_;
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

ParsedManifest batch_get_manifest(RegistrySession& session, const api::ImageIdentifier& id) {
  const std::string what =
      "image " + session.repository() +
      (id.imageDigest ? "@" + *id.imageDigest : ":" + id.imageTag.value_or(""));
  api::BatchGetImageRequest req;
  req.registryId = session.registry_id();
  req.repositoryName = session.repository();
  req.imageIds = {id};
  req.acceptedMediaTypes = accepted_manifest_media_types();
  const auto answer = session.call<api::BatchGetImageResponse>("BatchGetImage", req);
  if (answer.failures && !answer.failures->empty()) {
    // Failures are data in the API; a missing image is an error to a pull
    // or a copy.
    const auto& f = answer.failures->front();
    throw ServiceError(f.failureCode.value_or("ImageNotFound"),
                       what + ": " + f.failureReason.value_or("no reason given"));
  }
  if (!answer.images || answer.images->empty() || !answer.images->front().imageManifest) {
    throw ServiceError("ImageNotFound", what + ": BatchGetImage answered no image");
  }
  const api::Image& image = answer.images->front();
  ParsedManifest m =
      parse_manifest(*image.imageManifest, image.imageManifestMediaType.value_or(""));
  if (id.imageDigest && m.digest.str() != *id.imageDigest) {
    throw IntegrityError("BatchGetImage for " + *id.imageDigest +
                         " answered a manifest with digest " + m.digest.str());
  }
  return m;
}

EcrImageSource::EcrImageSource(std::unique_ptr<RegistrySession> session, std::string default_ref,
                               const std::atomic<bool>* cancel)
    : session_(std::move(session)), default_ref_(std::move(default_ref)), cancel_(cancel) {}

std::vector<ImageEntry> EcrImageSource::list() { return resolved_; }

ParsedManifest EcrImageSource::resolve(std::string_view ref) {
  std::string wanted(ref.empty() ? std::string_view(default_ref_) : ref);
  if (wanted.empty()) wanted = "latest";
  api::ImageIdentifier id;
  if (Digest::valid(wanted)) {
    id.imageDigest = Digest::parse(wanted).str();
  } else {
    id.imageTag = wanted;
  }
  ParsedManifest m = batch_get_manifest(*session_, id);
  ImageEntry entry{.names = {}, .descriptor = m.descriptor()};
  if (id.imageTag) entry.names.push_back(wanted);
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
  api::ImageIdentifier id;
  id.imageDigest = descriptor.digest.str();
  ParsedManifest m = batch_get_manifest(*session_, id);
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
      transfer::RegistrySession::open(config, ref, std::move(transport), cancel),
      std::move(default_ref), cancel);
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
