#include "transfer/ecr_source.hpp"

#include <algorithm>
#include <cstring>

#include "ecr/service_errors.hpp"
#include "transfer/ranged_get.hpp"

namespace ecr::transfer {
namespace {

// ListImageReferrers' largest page (the model's FiftyMaxResults).
constexpr std::int64_t kReferrersPerPage = 50;

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
    // The Client's typed error for a missing image, so a pull and a
    // DescribeImages fail alike.
    const auto& f = answer.failures->front();
    const std::string message = what + ": " + f.failureReason.value_or("no reason given");
    if (f.failureCode.value_or("ImageNotFound") == "ImageNotFound") {
      throw api::ImageNotFoundException(message);
    }
    throw ServiceError(*f.failureCode, message);
  }
  if (!answer.images || answer.images->empty() || !answer.images->front().imageManifest) {
    throw api::ImageNotFoundException(what + ": BatchGetImage answered no image");
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

EcrImageSource::EcrImageSource(std::shared_ptr<RegistrySession> session, std::string default_ref,
                               EcrSourceOptions options)
    : session_(std::move(session)),
      default_ref_(std::move(default_ref)),
      options_(std::move(options)) {
  if (options_.cache_dir) landing_.emplace(options_.cache_dir);
}

BlobLanding& EcrImageSource::landing() {
  // A staging directory only once something is fetched ahead.
  if (!landing_) landing_.emplace(std::nullopt);
  return *landing_;
}

std::vector<ImageEntry> EcrImageSource::list() { return resolved_; }

void EcrImageSource::keep_manifest(const ParsedManifest& m) {
  BlobCache* cache = landing_ ? landing_->cache() : nullptr;
  if (cache == nullptr || cache->contains(m.digest)) return;
  BlobWriter w = cache->writer(m.digest, static_cast<std::int64_t>(m.raw.size()));
  w.write(m.raw);
  w.commit();
}

ParsedManifest EcrImageSource::resolve(std::string_view ref) {
  std::string wanted(ref.empty() ? std::string_view(default_ref_) : ref);
  if (wanted.empty()) wanted = "latest";
  api::ImageIdentifier id;
  if (Digest::valid(wanted)) {
    id.imageDigest = Digest::parse(wanted).str();
  } else {
    id.imageTag = wanted;
  }
  // A tag is always resolved with the registry, never from the cache.
  ParsedManifest m = batch_get_manifest(*session_, id);
  keep_manifest(m);
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
  // Manifests named by digest are content-addressed: a cached one whose bytes
  // match is used (a warm pull of an index costs one BatchGetImage); one that
  // does not is dropped and fetched again.
  if (BlobCache* cache = landing_ ? landing_->cache() : nullptr) {
    if (auto stream = cache->open(descriptor.digest)) {
      try {
        BlobReader reader(descriptor, std::move(stream));
        return parse_manifest(reader.read_all(kMaxManifestBytes), descriptor.media_type);
      } catch (const IntegrityError&) {
        cache->remove(descriptor.digest);
      }
    }
  }
  api::ImageIdentifier id;
  id.imageDigest = descriptor.digest.str();
  ParsedManifest m = batch_get_manifest(*session_, id);
  if (static_cast<std::int64_t>(m.raw.size()) != descriptor.size) {
    throw IntegrityError("manifest " + descriptor.digest.str() + " is " +
                         std::to_string(m.raw.size()) + " bytes; its descriptor says " +
                         std::to_string(descriptor.size));
  }
  keep_manifest(m);
  return m;
}

std::vector<Descriptor> EcrImageSource::referrers(const Digest& subject) {
  api::ListImageReferrersRequest req;
  req.registryId = session_->registry_id();
  req.repositoryName = session_->repository();
  req.subjectId.imageDigest = subject.str();
  req.maxResults = kReferrersPerPage;
  std::vector<Descriptor> out;
  do {
    const auto page = session_->call<api::ListImageReferrersResponse>("ListImageReferrers", req);
    for (const api::ImageReferrer& r : page.referrers.value_or(std::vector<api::ImageReferrer>{})) {
      Descriptor d{.media_type = r.mediaType, .digest = Digest::parse(r.digest), .size = r.size};
      d.artifact_type = r.artifactType.value_or("");
      d.annotations = r.annotations.value_or(std::map<std::string, std::string>{});
      out.push_back(std::move(d));
    }
    if (out.size() > kMaxIndexEntries) {
      throw InputError("image " + subject.str() + " has more than " +
                       std::to_string(kMaxIndexEntries) +
                       " referrers, more than an index may list");
    }
    if (page.nextToken && page.nextToken == req.nextToken) {
      throw InputError("ListImageReferrers of " + subject.str() +
                       " answered the nextToken it was sent");
    }
    req.nextToken = page.nextToken;
  } while (req.nextToken);
  std::sort(out.begin(), out.end(),
            [](const Descriptor& a, const Descriptor& b) { return a.digest < b.digest; });
  return out;
}

void EcrImageSource::fetch_ahead(const std::vector<Descriptor>& blobs, ImageSink& sink,
                                 TransferContext& context) {
  BlobLanding& land = landing();
  BlobCache* cache = land.cache();
  sink_places_files_ = sink.traits().places_files;
  // A sink that takes files does not read them, so cached blobs are hashed
  // before they are offered (in parallel, up front); a damaged one is dropped
  // and downloaded. Other sinks read every blob through a BlobReader.
  if (cache && sink_places_files_) drop_damaged_cached_blobs(*cache, blobs, context.jobs());
  std::vector<std::unique_ptr<Download>> started;
  for (const auto& d : blobs) {
    if (landed_.contains(d.digest)) continue;
    if (cache && cache->contains(d.digest)) {
      landed_[d.digest] = Landed{BlobAction::kCached, nullptr};
      context.report(d.digest, BlobState::kCached, d.size, d.size);
    } else {
      started.push_back(land.start(*session_, d, sink, context));
      landed_[d.digest] = Landed{BlobAction::kDownloaded, started.back().get()};
    }
  }
  context.add_received(land.download_all(started, context, options_.tuning));
  for (auto& d : started) downloads_.push_back(std::move(d));
}

BlobAction EcrImageSource::send_blob(const Descriptor& descriptor, ImageSink& sink,
                                     TransferContext& context) {
  const auto it = landed_.find(descriptor.digest);
  if (it == landed_.end()) return ImageSource::send_blob(descriptor, sink, context);
  return deliver(descriptor, it->second, sink, context);
}

BlobAction EcrImageSource::deliver(const Descriptor& d, Landed landed, ImageSink& sink,
                                   TransferContext& context) {
  // Downloaded into the sink itself, and verified there.
  if (landed.download != nullptr && landed.download->in_sink()) return landed.action;
  BlobLanding& land = landing();
  // The landed file is known to hold `d` when this transfer downloaded and
  // checked it, or hashed the cached one up front; a sink that takes files
  // may then have it without reading it.
  bool verified = landed.action == BlobAction::kDownloaded || sink_places_files_;
  for (;;) {
    context.throw_if_cancelled();
    if (verified) {
      const auto file = land.file(d);
      if (file && sink.place_file(d, *file)) return landed.action;
    }
    if (auto stream = land.open(d, landed.download)) {
      try {
        BlobReader reader(d, std::move(stream));
        sink.write_blob(reader);
        return landed.action;
      } catch (const IntegrityError&) {
        if (landed.action != BlobAction::kCached) throw;
      } catch (const Error&) {
        // E.g. a docker-archive sink's decompressor tripping over damaged
        // bytes before the digest check: fetch again only when the entry is bad.
        if (landed.action != BlobAction::kCached || cached_blob_intact(*land.cache(), d)) throw;
      }
      land.cache()->remove(d.digest);
    } else if (landed.action != BlobAction::kCached) {
      throw InputError("blob " + d.digest.str() + " left the cache while being pulled");
    }
    // A cached blob that is gone (pruned by another process) or damaged on
    // disk: downloaded again, and written again.
    std::vector<std::unique_ptr<Download>> again;
    again.push_back(land.start(*session_, d, sink, context));
    context.add_received(land.download_all(again, context, options_.tuning));
    landed = Landed{BlobAction::kDownloaded, again.front().get()};
    downloads_.push_back(std::move(again.front()));
    landed_[d.digest] = landed;
    if (landed.download->in_sink()) return landed.action;
    verified = true;
  }
}

std::unique_ptr<ByteStream> EcrImageSource::open_raw(const Descriptor& descriptor) {
  const auto it = landed_.find(descriptor.digest);
  if (it != landed_.end()) {
    if (auto stream = landing().open(descriptor, it->second.download)) return stream;
  }
  return std::make_unique<RangedBlobStream>(*session_, descriptor, options_.cancel);
}

}  // namespace ecr::transfer
