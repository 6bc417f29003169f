// Push and pull over an already open RegistrySession: ecr::copy with an
// EcrImageSink or an EcrImageSource on that session. Tests call these with a
// session over a fake registry and their own retry policy (no sleeping).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ecr/transfer.hpp"
#include "transfer/blob_landing.hpp"
#include "transfer/registry_session.hpp"

namespace ecr::transfer {

// Pushes `ref` of `source`; the root goes under each of `tags` (by digest only
// when empty). With options.cache_dir, layers compressed on the way are
// remembered in the digest index under the source's identity_file().
PushResult push_image(RegistrySession& session, ImageSource& source, std::string_view ref,
                      const std::vector<std::string>& tags, const TransferOptions& options);

// Pulls `source` into `sink` (the host's platform of an index unless
// options.platform or options.all_platforms), names the root `names` and
// commits the sink.
PullResult pull_image(RegistrySession& session, const ImageReference& source, ImageSink& sink,
                      const std::vector<std::string>& names, const TransferOptions& options,
                      const DownloadTuning& tuning = {});

// The ref a registry source resolves by default: the digest, else the tag,
// else "latest".
std::string default_ref(const ImageReference& ref);

}  // namespace ecr::transfer
