// The push engine: plan the image (which manifests, which blobs), ask the
// registry which blobs it lacks, upload those in parallel, then put the
// manifests children first.
#include <chrono>
#include <set>

#include "ecr/errors.hpp"
#include "transfer/engine.hpp"
#include "transfer/layer_upload.hpp"
#include "transfer/parallel.hpp"
#include "transfer/push_compression.hpp"

namespace ecr::transfer {
namespace {

// What a push writes: the image manifests (children of an index first) and the
// root that goes under the tags.
struct PushPlan {
  std::vector<ParsedManifest> children;  // put by digest, before the root
  ParsedManifest root;
  std::vector<Descriptor> blobs;  // each digest once, in manifest order
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
    const auto answer =
        session.call<api::BatchCheckLayerAvailabilityResponse>("BatchCheckLayerAvailability", req);
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

}  // namespace

PushResult push_image(RegistrySession& session, ImageSource& source, std::string_view ref,
                      const std::vector<std::string>& tags, const TransferOptions& options,
                      const std::optional<std::filesystem::path>& source_path) {
  options.validate();
  const auto started = std::chrono::steady_clock::now();
  Reporter reporter(options.progress, options.cancel);
  if (options.create_repository) create_repository(session);
  const PushPlan plan = plan_push(source, ref, options);

  // Registries hold compressed layers; docker save writes them raw. Those are
  // compressed during their upload (push_compression.hpp), unless the digest
  // index already knows what they compress to.
  CompressionPlan compression(CompressOptions{.algorithm = options.compression}, options.cache_dir,
                              source_path);
  if (options.compression != Compression::kNone) {
    for (const auto& d : plan.blobs) {
      if (is_uncompressed_layer(d.media_type)) compression.add(d);
    }
  }
  // The registry is asked about every blob whose digest is known before
  // uploading; a layer compressed on the way is named only once it is sent.
  std::vector<Descriptor> known;
  for (const auto& d : plan.blobs) {
    if (!compression.contains(d.digest)) {
      known.push_back(d);
    } else if (const auto& c = compression.at(d.digest).compressed) {
      known.push_back(*c);
    }
  }
  const std::set<Digest> available = available_blobs(session, known, reporter);
  const auto must_compress = [&](const Digest& layer) {
    if (!compression.contains(layer)) return false;
    const auto& c = compression.at(layer).compressed;
    return !c || !available.contains(c->digest);
  };
  const auto check_config = [&](const ParsedManifest& m) {
    for (const auto& l : m.layers) {
      if (must_compress(l.digest)) return check_diff_ids(source, m, compression);
    }
  };
  if (!plan.root.is_index()) check_config(plan.root);
  for (const auto& child : plan.children) check_config(child);

  PushResult result{.digest = plan.root.digest,
                    .media_type = plan.root.media_type,
                    .blobs = {},
                    .bytes_moved = 0,
                    .bytes_skipped = 0,
                    .seconds = 0};
  PartBufferPool pool(static_cast<std::size_t>(options.jobs) * kPartBuffersPerUpload);
  std::vector<std::function<void()>> uploads;
  std::vector<std::int64_t> sent(plan.blobs.size(), 0);
  std::vector<std::optional<BlobResult>> outcomes(plan.blobs.size());
  for (std::size_t i = 0; i < plan.blobs.size(); ++i) {
    const Descriptor& d = plan.blobs[i];
    // What the registry holds for it: the blob, or the layer compressed.
    const Descriptor* pushed = compression.contains(d.digest) && !must_compress(d.digest)
                                   ? &*compression.at(d.digest).compressed
                                   : &d;
    if (!must_compress(d.digest) && available.contains(pushed->digest)) {
      outcomes[i] = BlobResult{pushed->digest, pushed->size, BlobAction::kExists};
      result.bytes_skipped += pushed->size;
      reporter.report(pushed->digest, BlobState::kExists, pushed->size, pushed->size);
      continue;
    }
    uploads.push_back([&, i] {
      reporter.throw_if_cancelled();
      const Descriptor& blob = plan.blobs[i];
      const bool compressing = compression.contains(blob.digest);
      const BlobProducer produce =
          compressing ? compression.compress(source, blob, reporter) : copy_blob(source, blob);
      const UploadStats stats =
          upload_blob(session, blob, produce, pool, options.part_size, reporter,
                      compressing ? UploadProgress::kByProducer : UploadProgress::kPartsSent);
      // Recorded only now: the registry holds the blob the index names.
      if (compressing) compression.uploaded(blob.digest, stats.uploaded);
      outcomes[i] = BlobResult{stats.uploaded.digest, stats.uploaded.size, BlobAction::kUploaded};
      sent[i] = stats.bytes_sent;
      reporter.report(blob.digest, BlobState::kDone, blob.size, blob.size,
                      compressing ? std::optional(stats.uploaded) : std::nullopt);
    });
  }
  run_all(static_cast<std::size_t>(options.jobs), uploads);
  for (std::int64_t s : sent) result.bytes_moved += s;
  for (auto& outcome : outcomes) result.blobs.push_back(std::move(*outcome));

  reporter.throw_if_cancelled();
  // Manifests are rewritten from the digests computed during the uploads.
  std::vector<ParsedManifest> children;
  for (const auto& child : plan.children) children.push_back(compression.rewrite(child));
  const ParsedManifest root = plan.root.is_index()
                                  ? CompressionPlan::rewrite_index(plan.root, children)
                                  : compression.rewrite(plan.root);
  for (const auto& child : children) put_manifest(session, child, std::nullopt);
  if (tags.empty()) {
    put_manifest(session, root, std::nullopt);
  } else {
    for (const auto& tag : tags) put_manifest(session, root, tag);
  }
  result.digest = root.digest;
  result.media_type = root.media_type;
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace ecr::transfer
