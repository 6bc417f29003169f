#include "transfer/ecr_sink.hpp"

#include "ecr/service_errors.hpp"
#include "transfer/layer_upload.hpp"

namespace ecr::transfer {

EcrImageSink::EcrImageSink(std::shared_ptr<RegistrySession> session, int jobs,
                           std::int64_t part_size)
    : session_(std::move(session)),
      part_size_(part_size),
      pool_(static_cast<std::size_t>(jobs) * kPartBuffersPerUpload) {}

bool EcrImageSink::has_blob(const Digest& digest) {
  TransferContext quiet(1, {}, nullptr);
  return has_blobs({Descriptor{.media_type = {}, .digest = digest, .size = 0}}, quiet).front();
}

std::vector<bool> EcrImageSink::has_blobs(const std::vector<Descriptor>& blobs,
                                          TransferContext& context) {
  std::vector<bool> held(blobs.size(), false);
  for (std::size_t i = 0; i < blobs.size(); i += kBatchCheckLimit) {
    context.throw_if_cancelled();
    api::BatchCheckLayerAvailabilityRequest req;
    req.registryId = session_->registry_id();
    req.repositoryName = session_->repository();
    const std::size_t end = std::min(blobs.size(), i + kBatchCheckLimit);
    for (std::size_t j = i; j < end; ++j) req.layerDigests.push_back(blobs[j].digest.str());
    const auto answer = session_->call<api::BatchCheckLayerAvailabilityResponse>(
        "BatchCheckLayerAvailability", req);
    // A failure entry (MissingLayerDigest) means "upload it": that is data,
    // not an error.
    for (const auto& layer : answer.layers.value_or(std::vector<api::Layer>{})) {
      if (!layer.layerDigest || layer.layerAvailability != "AVAILABLE") continue;
      for (std::size_t j = i; j < end; ++j) {
        if (blobs[j].digest.str() == *layer.layerDigest) held[j] = true;
      }
    }
  }
  return held;
}

void EcrImageSink::write_blob(BlobReader& in) {
  TransferContext quiet(1, {}, nullptr);
  bool read = false;
  const Descriptor d = in.descriptor();
  upload_blob(
      *session_, d,
      [&](PartWriter& out) {
        // Bytes in a file can be read again, however often the upload needs
        // them. The registry hashes what it receives and refuses a mismatch
        // at CompleteLayerUpload, so they may skip the reader's hash.
        if (const auto bytes = in.random_access()) {
          out.write_all(bytes);
          return d;
        }
        if (read) {
          throw TransportError("the upload of " + d.digest.str() +
                               " needs bytes again, and its stream cannot be read twice");
        }
        read = true;
        while (const std::size_t n = in.read(out.space())) out.advance(n);
        return d;
      },
      pool_, part_size_, quiet);
}

void EcrImageSink::copy_blob(ImageSource& source, const Descriptor& descriptor,
                             TransferContext& context) {
  const UploadStats stats = upload_blob(
      *session_, descriptor, transfer::copy_blob(source, descriptor), pool_, part_size_, context);
  context.add_sent(stats.bytes_sent);
}

Descriptor EcrImageSink::write_streamed_blob(const StreamedBlob& blob, TransferContext& context) {
  const UploadStats stats = upload_blob(
      *session_, blob.shown_as, [&](PartWriter& out) { return blob.write_to(out); }, pool_,
      part_size_, context, UploadProgress::kByProducer);
  context.add_sent(stats.bytes_sent);
  return stats.uploaded;
}

namespace {

void put_manifest(RegistrySession& session, const ParsedManifest& m,
                  const std::optional<std::string>& tag) {
  api::PutImageRequest req;
  req.registryId = session.registry_id();
  req.repositoryName = session.repository();
  req.imageManifest = m.raw;
  req.imageManifestMediaType = m.media_type;
  req.imageDigest = m.digest.str();
  req.imageTag = tag;
  try {
    const auto put = session.call<api::PutImageResponse>("PutImage", req);
    if (put.image && put.image->imageId && put.image->imageId->imageDigest &&
        *put.image->imageId->imageDigest != m.digest.str()) {
      throw IntegrityError("PutImage of " + m.digest.str() + " answered digest " +
                           *put.image->imageId->imageDigest);
    }
  } catch (const api::ImageAlreadyExistsException&) {
    // The same manifest under the same tag is already there: nothing to change.
  }
}

}  // namespace

void EcrImageSink::write_manifest(const ParsedManifest& manifest,
                                  const std::vector<std::string>& names, bool) {
  if (names.empty()) {
    put_manifest(*session_, manifest, std::nullopt);
    return;
  }
  for (const auto& tag : names) put_manifest(*session_, manifest, tag);
}

void create_repository(RegistrySession& session) {
  api::CreateRepositoryRequest req;
  req.registryId = session.registry_id();
  req.repositoryName = session.repository();
  try {
    session.call<api::CreateRepositoryResponse>("CreateRepository", req);
  } catch (const api::RepositoryAlreadyExistsException&) {
  }
}

}  // namespace ecr::transfer
