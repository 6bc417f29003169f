#include "transfer/pull_plan.hpp"

#include <set>

#include "ecr/errors.hpp"
#include "transfer/ecr_source.hpp"
#include "transfer/engine.hpp"

namespace ecr::transfer {
namespace {

// Keeps a manifest in the cache under its digest, like any blob.
void keep_manifest(BlobCache& cache, const ParsedManifest& m) {
  if (cache.contains(m.digest)) return;
  BlobWriter w = cache.writer(m.digest, static_cast<std::int64_t>(m.raw.size()));
  w.write(m.raw);
  w.commit();
}

// The cached manifest `d` names, or nullopt when it is absent or its bytes do
// not match `d` (the entry is then dropped, and fetched again by the caller).
std::optional<ParsedManifest> cached_manifest(BlobCache& cache, const Descriptor& d) {
  auto stream = cache.open(d.digest);
  if (!stream) return std::nullopt;
  std::string bytes;
  try {
    BlobReader reader(d, std::move(stream));
    bytes = reader.read_all(kMaxManifestBytes);
  } catch (const IntegrityError&) {
    cache.remove(d.digest);
    return std::nullopt;
  }
  return parse_manifest(bytes, d.media_type);
}

ParsedManifest get_child(RegistrySession& session, const Descriptor& d, BlobCache* cache) {
  if (cache) {
    if (auto m = cached_manifest(*cache, d)) return std::move(*m);
  }
  api::ImageIdentifier id;
  id.imageDigest = d.digest.str();
  ParsedManifest m = batch_get_manifest(session, id);
  if (cache) keep_manifest(*cache, m);
  return m;
}

void add_blobs(PullPlan& plan, std::set<Digest>& seen, const ParsedManifest& m) {
  std::vector<Descriptor> ds{*m.config};
  ds.insert(ds.end(), m.layers.begin(), m.layers.end());
  for (auto& d : ds) {
    if (seen.insert(d.digest).second) plan.blobs.push_back(d);
  }
}

const Descriptor& choose_platform(const ParsedManifest& index, const Platform& wanted) {
  for (const auto& child : index.manifests) {
    if (child.platform && child.platform->matches(wanted)) return child;
  }
  std::string offered;
  for (const auto& c : index.manifests) {
    offered += (offered.empty() ? "" : ", ") + (c.platform ? c.platform->str() : c.digest.str());
  }
  throw InputError("index " + index.digest.str() + " has no manifest for " + wanted.str() +
                   "; it offers " + offered);
}

}  // namespace

PullPlan plan_pull(RegistrySession& session, const ImageReference& source, ImageSink& sink,
                   const TransferOptions& options, BlobCache* cache) {
  api::ImageIdentifier id;
  if (source.digest) {
    id.imageDigest = source.digest->str();
  } else {
    id.imageTag = source.tag.value_or("latest");
  }
  ParsedManifest root = batch_get_manifest(session, id);
  if (cache) keep_manifest(*cache, root);
  if (root.is_index() && !options.all_platforms) {
    const Platform wanted = options.platform.value_or(host_platform());
    root = get_child(session, choose_platform(root, wanted), cache);
  }
  PullPlan plan{.children = {}, .root = std::move(root), .blobs = {}};
  std::set<Digest> seen;
  if (plan.root.is_index()) {
    if (!sink.traits().accepts_index) {
      throw InputError("the destination holds single-platform images; choose one with --platform");
    }
    for (const auto& child : plan.root.manifests) {
      ParsedManifest m = get_child(session, child, cache);
      if (m.is_index()) throw InputError("nested indexes are not supported by pull yet");
      add_blobs(plan, seen, m);
      plan.children.push_back(std::move(m));
    }
  } else {
    add_blobs(plan, seen, plan.root);
  }
  return plan;
}

}  // namespace ecr::transfer
