// The push engine: plan the image (which manifests, which blobs), ask the
// registry which blobs it lacks, upload those in parallel, then put the
// manifests children first.
#include <stdlib.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <set>

#include "ecr/errors.hpp"
#include "ecr/image_copy.hpp"
#include "ecr/image_location.hpp"
#include "transfer/engine.hpp"
#include "transfer/layer_upload.hpp"
#include "transfer/parallel.hpp"

namespace ecr::transfer {
namespace {

bool is_uncompressed_layer(std::string_view media_type) {
  return media_type == media_type::kOciLayer ||
         media_type == "application/vnd.docker.image.rootfs.diff.tar";
}

// What a push writes: the image manifests (children of an index first) and the
// root that goes under the tags.
struct PushPlan {
  std::vector<ParsedManifest> children;  // put by digest, before the root
  ParsedManifest root;
  std::vector<Descriptor> blobs;  // each digest once, in manifest order
  bool has_uncompressed_layers = false;
};

void add_blobs(PushPlan& plan, std::set<Digest>& seen, const ParsedManifest& m) {
  std::vector<Descriptor> ds;
  ds.push_back(*m.config);
  ds.insert(ds.end(), m.layers.begin(), m.layers.end());
  for (auto& d : ds) {
    if (seen.insert(d.digest).second) plan.blobs.push_back(d);
  }
}

PushPlan plan_push(ImageSource& source, std::string_view ref, const TransferOptions& options) {
  std::set<Digest> seen;
  ParsedManifest root = source.resolve(ref);
  if (root.is_index() && options.platform) {
    const ParsedManifest index = root;
    const Descriptor* chosen = nullptr;
    for (const auto& child : index.manifests) {
      if (child.platform && child.platform->matches(*options.platform)) {
        chosen = &child;
        break;
      }
    }
    if (!chosen) {
      throw InputError("index " + index.digest.str() + " has no manifest for " +
                       options.platform->str());
    }
    root = source.fetch_manifest(*chosen);
  }
  PushPlan plan{.children = {}, .root = std::move(root), .blobs = {}};
  if (plan.root.is_index()) {
    for (const auto& child : plan.root.manifests) {
      ParsedManifest m = source.fetch_manifest(child);
      if (m.is_index()) throw InputError("nested indexes are not supported by push yet");
      add_blobs(plan, seen, m);
      plan.children.push_back(std::move(m));
    }
  } else {
    add_blobs(plan, seen, plan.root);
  }
  for (const auto& d : plan.blobs) {
    if (is_uncompressed_layer(d.media_type)) plan.has_uncompressed_layers = true;
  }
  return plan;
}

std::set<Digest> available_blobs(RegistrySession& session, const std::vector<Descriptor>& blobs,
                                 Reporter& reporter) {
  std::set<Digest> available;
  for (std::size_t i = 0; i < blobs.size(); i += kBatchCheckLimit) {
    api::BatchCheckLayerAvailabilityRequest req;
    req.registryId = session.registry_id();
    req.repositoryName = session.repository();
    for (std::size_t j = i; j < std::min(blobs.size(), i + kBatchCheckLimit); ++j) {
      req.layerDigests.push_back(blobs[j].digest.str());
      reporter.report(blobs[j].digest, BlobState::kChecking, 0, blobs[j].size);
    }
    const auto answer = session.call<api::BatchCheckLayerAvailabilityResponse>(
        "BatchCheckLayerAvailability", req);
    // A failure entry (MissingLayerDigest) means "upload it": that is data, not an error.
    for (const auto& layer : answer.layers.value_or(std::vector<api::Layer>{})) {
      if (layer.layerDigest && layer.layerAvailability == "AVAILABLE" &&
          Digest::valid(*layer.layerDigest)) {
        available.insert(Digest::parse(*layer.layerDigest));
      }
    }
  }
  return available;
}

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

void create_repository(RegistrySession& session) {
  api::CreateRepositoryRequest req;
  req.registryId = session.registry_id();
  req.repositoryName = session.repository();
  try {
    session.call<api::CreateRepositoryResponse>("CreateRepository", req);
  } catch (const api::RepositoryAlreadyExistsException&) {
  }
}

// A temporary directory removed with everything in it when it goes.
class StagingDirectory {
 public:
  StagingDirectory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ecr-push-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) {
      throw InputError("cannot create a staging directory under " +
                       std::filesystem::temp_directory_path().string() + ": " +
                       std::strerror(errno));
    }
    path_ = pattern;
  }
  ~StagingDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  StagingDirectory(const StagingDirectory&) = delete;
  StagingDirectory& operator=(const StagingDirectory&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace

PushResult push_image(RegistrySession& session, ImageSource& source, std::string_view ref,
                      const std::vector<std::string>& tags, const TransferOptions& options) {
  options.validate();
  const auto started = std::chrono::steady_clock::now();
  Reporter reporter(options.progress, options.cancel);
  if (options.create_repository) create_repository(session);
  const PushPlan plan = plan_push(source, ref, options);
  if (plan.has_uncompressed_layers && options.compression != Compression::kNone) {
    // Registries hold compressed layers (docker save writes them raw). The
    // layers are compressed into a staging OCI layout first, with the
    // deterministic compressor, so the same tarball always gives the same
    // digests; the push then reads the staged image. This costs one extra
    // pass over the layer bytes: compressing within the upload pass (digest
    // finished during the upload) is the planned improvement.
    StagingDirectory staging;
    ImageLocation staged{.transport = Transport::kOciLayout, .path = staging.path() / "image",
                         .ref = ""};
    {
      std::unique_ptr<ImageSink> sink = open_image_sink(staged);
      CopyOptions copy;
      copy.platform = options.platform;
      copy.compression.algorithm = options.compression;
      copy_image(source, ref, *sink, copy);
      sink->commit();
    }
    std::unique_ptr<ImageSource> compressed = open_image_source(staged);
    TransferOptions again = options;
    again.create_repository = false;
    again.platform.reset();
    return push_image(session, *compressed, "", tags, again);
  }
  const std::set<Digest> available = available_blobs(session, plan.blobs, reporter);

  PushResult result{.digest = plan.root.digest,
                    .media_type = plan.root.media_type,
                    .blobs = {},
                    .bytes_moved = 0,
                    .bytes_skipped = 0,
                    .seconds = 0};
  PartBufferPool pool(static_cast<std::size_t>(options.jobs) * kPartBuffersPerJob);
  std::vector<std::function<void()>> uploads;
  std::vector<std::int64_t> sent(plan.blobs.size(), 0);
  for (std::size_t i = 0; i < plan.blobs.size(); ++i) {
    const Descriptor& d = plan.blobs[i];
    const bool exists = available.contains(d.digest);
    result.blobs.push_back({d.digest, d.size, exists ? BlobAction::kExists : BlobAction::kUploaded});
    if (exists) {
      result.bytes_skipped += d.size;
      reporter.report(d.digest, BlobState::kExists, d.size, d.size);
      continue;
    }
    uploads.push_back([&, i] {
      reporter.throw_if_cancelled();
      const Descriptor& blob = plan.blobs[i];
      const BlobOpener open = [&] { return source.open_blob(blob); };
      sent[i] = upload_blob(session, blob, open, pool, options.part_size, reporter)
                    .bytes_sent;
      reporter.report(blob.digest, BlobState::kDone, blob.size, blob.size);
    });
  }
  run_all(static_cast<std::size_t>(options.jobs), uploads);
  for (std::int64_t s : sent) result.bytes_moved += s;

  reporter.throw_if_cancelled();
  for (const auto& child : plan.children) put_manifest(session, child, std::nullopt);
  if (tags.empty()) {
    put_manifest(session, plan.root, std::nullopt);
  } else {
    for (const auto& tag : tags) put_manifest(session, plan.root, tag);
  }
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace ecr::transfer
