#include "ecr/transfer.hpp"

namespace ecr {

void TransferOptions::validate() const {
  if (jobs < 1) {
    throw InputError("jobs must be at least 1 (got " + std::to_string(jobs) + ")");
  }
  if (part_size < kMinPartSize || part_size > kMaxPartSize) {
    throw InputError("part size must be between 5 MiB (" + std::to_string(kMinPartSize) +
                     " bytes: ECR refuses smaller parts) and 20 MiB (" +
                     std::to_string(kMaxPartSize) +
                     " bytes: the model's limit on layerPartBlob); got " +
                     std::to_string(part_size));
  }
  if (platform && all_platforms) {
    throw InputError("choose either a platform or all platforms, not both");
  }
}

std::string_view blob_action_name(BlobAction action) noexcept {
  switch (action) {
    case BlobAction::kUploaded: return "uploaded";
    case BlobAction::kExists: return "exists";
    case BlobAction::kDownloaded: return "downloaded";
    case BlobAction::kCached: return "cached";
  }
  return "unknown";
}

std::string_view blob_state_name(BlobState state) noexcept {
  switch (state) {
    case BlobState::kChecking: return "checking";
    case BlobState::kExists: return "exists";
    case BlobState::kUploading: return "uploading";
    case BlobState::kDownloading: return "downloading";
    case BlobState::kCached: return "cached";
    case BlobState::kDone: return "done";
  }
  return "unknown";
}

}  // namespace ecr
