// Uploading one blob through InitiateLayerUpload / UploadLayerPart /
// CompleteLayerUpload, with resume from lastValidByteReceived.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "ecr/image.hpp"
#include "transfer/part_buffer_pool.hpp"
#include "transfer/progress.hpp"
#include "transfer/registry_session.hpp"

namespace ecr::transfer {

// A layerPartBlob holds at most this many bytes before encoding (the model's
// limit); a registry answering a larger partSize is refused.
inline constexpr std::int64_t kMaxPartBlobBytes = 20'971'520;
// InvalidLayerPartException answers tolerated per layer before giving up: each
// one means the registry kept fewer bytes than sent (a reset mid-part), and a
// registry that never advances must not loop us forever.
inline constexpr int kMaxPartResumes = 16;
// A vanished upload (UploadNotFoundException) restarts the layer this many
// times at most.
inline constexpr int kMaxUploadRestarts = 2;

// Opens the blob being uploaded from its first byte. Called again when a resume
// needs bytes no longer in the part buffer.
using BlobOpener = std::function<BlobReader()>;

// Appends the UploadLayerPart request for `part` to `out` (cleared first),
// base64-encoding the part straight into the body.
void build_upload_part_body(std::string& out, const std::optional<std::string>& registry_id,
                            std::string_view repository, std::string_view upload_id,
                            std::int64_t first_byte, std::string_view part);

struct UploadStats {
  std::int64_t bytes_sent = 0;  // part bytes sent, re-sends included
};

// Uploads the blob `descriptor` names. `fallback_part_size` is used when the
// registry does not answer a partSize. LayerAlreadyExistsException from
// CompleteLayerUpload counts as success. Throws IntegrityError when the blob
// does not match its descriptor or CompleteLayerUpload answers another digest.
UploadStats upload_blob(RegistrySession& session, const Descriptor& descriptor,
                        const BlobOpener& open, PartBufferPool& pool,
                        std::int64_t fallback_part_size, Reporter& reporter);

}  // namespace ecr::transfer
