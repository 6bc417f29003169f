// The pull engine: BatchGetImage, platform choice, parallel (ranged) downloads
// into a staging directory, verification, then the sink.
//
// Downloads land in staging files first because sinks are written one blob at
// a time while downloads run in parallel. A content-addressed cache plugs in
// at the same point: a blob found there is kCached and read from it instead of
// being fetched; a fetched blob is verified there and handed to the sink.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <set>

#include "ecr/errors.hpp"
#include "oci/file_io.hpp"
#include "transfer/blob_download.hpp"
#include "transfer/engine.hpp"
#include "transfer/parallel.hpp"

namespace ecr::transfer {
namespace {

// The manifest types pull accepts (ECR converts between Docker and OCI only
// when asked to by a narrower list).
const std::vector<std::string> kAcceptedMediaTypes = {
    std::string(media_type::kOciIndex), std::string(media_type::kOciManifest),
    std::string(media_type::kDockerManifestList), std::string(media_type::kDockerManifest)};

ParsedManifest get_manifest(RegistrySession& session, const api::ImageIdentifier& id,
                            const std::string& what) {
  api::BatchGetImageRequest req;
  req.registryId = session.registry_id();
  req.repositoryName = session.repository();
  req.imageIds = {id};
  req.acceptedMediaTypes = kAcceptedMediaTypes;
  const auto answer = session.call<api::BatchGetImageResponse>("BatchGetImage", req);
  if (answer.failures && !answer.failures->empty()) {
    const auto& f = answer.failures->front();
    throw ServiceError(f.failureCode.value_or("ImageNotFound"),
                       what + " in " + session.repository() + ": " +
                           f.failureReason.value_or("no reason given"));
  }
  if (!answer.images || answer.images->empty() || !answer.images->front().imageManifest) {
    throw ServiceError("ImageNotFound", what + " in " + session.repository() + ": no image");
  }
  const api::Image& image = answer.images->front();
  ParsedManifest m =
      parse_manifest(*image.imageManifest, image.imageManifestMediaType.value_or(""));
  if (id.imageDigest && m.digest.str() != *id.imageDigest) {
    throw IntegrityError("BatchGetImage for " + *id.imageDigest + " answered a manifest with digest " +
                         m.digest.str());
  }
  return m;
}

ParsedManifest get_child(RegistrySession& session, const Descriptor& d) {
  api::ImageIdentifier id;
  id.imageDigest = d.digest.str();
  return get_manifest(session, id, d.digest.str());
}

struct PullPlan {
  std::vector<ParsedManifest> children;  // written before the root
  ParsedManifest root;
  std::vector<Descriptor> blobs;
};

void add_blobs(PullPlan& plan, std::set<Digest>& seen, const ParsedManifest& m) {
  std::vector<Descriptor> ds{*m.config};
  ds.insert(ds.end(), m.layers.begin(), m.layers.end());
  for (auto& d : ds) {
    if (seen.insert(d.digest).second) plan.blobs.push_back(d);
  }
}

PullPlan plan_pull(RegistrySession& session, const ParsedManifest& top, ImageSink& sink,
                   const TransferOptions& options) {
  std::set<Digest> seen;
  ParsedManifest root = top;
  if (root.is_index() && !options.all_platforms) {
    const Platform wanted = options.platform.value_or(host_platform());
    const Descriptor* chosen = nullptr;
    for (const auto& child : root.manifests) {
      if (child.platform && child.platform->matches(wanted)) {
        chosen = &child;
        break;
      }
    }
    if (!chosen) {
      std::string offered;
      for (const auto& c : root.manifests) {
        offered += (offered.empty() ? "" : ", ") + (c.platform ? c.platform->str() : c.digest.str());
      }
      throw InputError("index " + root.digest.str() + " has no manifest for " + wanted.str() +
                       "; it offers " + offered);
    }
    root = get_child(session, *chosen);
  }
  PullPlan plan{.children = {}, .root = std::move(root), .blobs = {}};
  if (plan.root.is_index()) {
    if (!sink.traits().accepts_index) {
      throw InputError("the destination holds single-platform images; choose one with --platform");
    }
    for (const auto& child : plan.root.manifests) {
      ParsedManifest m = get_child(session, child);
      if (m.is_index()) throw InputError("nested indexes are not supported by pull yet");
      add_blobs(plan, seen, m);
      plan.children.push_back(std::move(m));
    }
  } else {
    add_blobs(plan, seen, plan.root);
  }
  return plan;
}

// A staged download: a file in the staging directory sized to the blob.
struct StagedBlob {
  Descriptor descriptor;
  std::shared_ptr<oci::UniqueFd> fd;
  std::unique_ptr<BlobFetch> fetch;
};

std::shared_ptr<oci::UniqueFd> create_sized_file(const std::filesystem::path& path,
                                                 std::int64_t size) {
  auto fd = std::make_shared<oci::UniqueFd>(
      ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd->get() < 0 || ::ftruncate(fd->get(), static_cast<off_t>(size)) != 0) {
    throw InputError("cannot create " + path.string() + ": " + std::strerror(errno));
  }
  return fd;
}

std::vector<std::function<void()>> range_tasks(StagedBlob& blob, const DownloadTuning& tuning) {
  std::vector<std::function<void()>> tasks;
  const std::int64_t size = blob.descriptor.size;
  BlobFetch* fetch = blob.fetch.get();
  if (size < tuning.range_threshold) {
    tasks.emplace_back([fetch, size] { fetch->fetch(0, size); });
    return tasks;
  }
  for (std::int64_t begin = 0; begin < size; begin += tuning.range_chunk) {
    const std::int64_t end = std::min(size, begin + tuning.range_chunk);
    tasks.emplace_back([fetch, begin, end] { fetch->fetch(begin, end); });
  }
  return tasks;
}

// Verifies a staged blob, fetching it again whole when it does not match.
void verify_staged(StagedBlob& blob, Reporter& reporter) {
  const Descriptor& d = blob.descriptor;
  for (int refetch = 0;; ++refetch) {
    const Digest got = hash_file(blob.fd->get(), d.size);
    if (got == d.digest) return;
    if (refetch >= kMaxIntegrityRefetches) {
      throw IntegrityError("blob " + d.digest.str() + " downloaded from the registry has digest " +
                           got.str() + " (fetched " + std::to_string(refetch + 1) + " times)");
    }
    reporter.throw_if_cancelled();
    blob.fetch->fetch(0, d.size);
  }
}

}  // namespace

Platform host_platform() {
#if defined(__aarch64__)
  return Platform{.os = "linux", .architecture = "arm64", .variant = "v8"};
#else
  return Platform{.os = "linux", .architecture = "amd64"};
#endif
}

PullResult pull_image(RegistrySession& session, const ImageReference& source, ImageSink& sink,
                      const std::vector<std::string>& names, const TransferOptions& options,
                      const DownloadTuning& tuning) {
  options.validate();
  const auto started = std::chrono::steady_clock::now();
  Reporter reporter(options.progress, options.cancel);

  api::ImageIdentifier id;
  if (source.digest) {
    id.imageDigest = source.digest->str();
  } else {
    id.imageTag = source.tag.value_or("latest");
  }
  const ParsedManifest top = get_manifest(session, id, source.str());
  const PullPlan plan = plan_pull(session, top, sink, options);

  PullResult result{.digest = plan.root.digest,
                    .media_type = plan.root.media_type,
                    .blobs = {},
                    .bytes_moved = 0,
                    .bytes_skipped = 0,
                    .seconds = 0};
  oci::StagingDir staging(std::filesystem::temp_directory_path() / "ecr-pull");
  std::vector<std::unique_ptr<StagedBlob>> staged;
  std::vector<std::function<void()>> tasks;
  for (const auto& d : plan.blobs) {
    reporter.report(d.digest, BlobState::kChecking, 0, d.size);
    if (sink.has_blob(d.digest)) {
      result.blobs.push_back({d.digest, d.size, BlobAction::kExists});
      result.bytes_skipped += d.size;
      reporter.report(d.digest, BlobState::kExists, d.size, d.size);
      continue;
    }
    result.blobs.push_back({d.digest, d.size, BlobAction::kDownloaded});
    auto fd = create_sized_file(staging.path() / std::string(d.digest.hex()), d.size);
    auto fetch = std::make_unique<BlobFetch>(session, d, fd->get(), reporter);
    auto blob = std::make_unique<StagedBlob>(
        StagedBlob{.descriptor = d, .fd = std::move(fd), .fetch = std::move(fetch)});
    for (auto& t : range_tasks(*blob, tuning)) tasks.push_back(std::move(t));
    staged.push_back(std::move(blob));
  }
  run_all(static_cast<std::size_t>(options.jobs), tasks);

  // Every blob is verified before the sink sees any of them.
  for (auto& blob : staged) {
    reporter.throw_if_cancelled();
    verify_staged(*blob, reporter);
    result.bytes_moved += blob->fetch->bytes_received();
  }
  for (auto& blob : staged) {
    BlobReader reader(blob->descriptor,
                      std::make_unique<oci::FileRangeStream>(blob->fd, 0, blob->descriptor.size));
    sink.write_blob(reader);
    reporter.report(blob->descriptor.digest, BlobState::kDone, blob->descriptor.size,
                    blob->descriptor.size);
  }
  for (const auto& child : plan.children) sink.write_manifest(child, {}, false);
  sink.write_manifest(plan.root, names, true);
  reporter.throw_if_cancelled();
  sink.commit();

  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace ecr::transfer
