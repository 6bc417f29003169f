// What a pull fetches: the root manifest (BatchGetImage by tag or digest), the
// platform chosen from an index, the child manifests and their blobs.
//
// Manifests named by digest (an index's children) are content-addressed, so
// with a cache they are read from it when present and kept there when
// fetched: a warm pull of an index costs one BatchGetImage. A tag is always
// resolved with the registry, never from the cache.
#pragma once

#include <vector>

#include "ecr/cache.hpp"
#include "ecr/transfer.hpp"
#include "transfer/registry_session.hpp"

namespace ecr::transfer {

struct PullPlan {
  std::vector<ParsedManifest> children;  // an index's manifests, written before the root
  ParsedManifest root;                   // what is written under the names
  std::vector<Descriptor> blobs;         // configs and layers, each digest once
};

// BatchGetImage of `source` (its digest when it has one, else its tag, else
// "latest"), then the platform choice and the children. `cache` may be null.
// Throws ServiceError named after BatchGetImage's failure code
// ("ImageNotFound", ...), IntegrityError when the registry answers another
// digest than asked, InputError when the platform is not in the index or the
// sink cannot hold an index.
PullPlan plan_pull(RegistrySession& session, const ImageReference& source, ImageSink& sink,
                   const TransferOptions& options, BlobCache* cache);

}  // namespace ecr::transfer
