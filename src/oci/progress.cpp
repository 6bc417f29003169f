// Names of the progress vocabulary (include/ecr/progress.hpp).
#include "ecr/progress.hpp"

namespace ecr {

std::string_view blob_action_name(BlobAction action) noexcept {
  switch (action) {
    case BlobAction::kUploaded:
      return "uploaded";
    case BlobAction::kExists:
      return "exists";
    case BlobAction::kDownloaded:
      return "downloaded";
    case BlobAction::kCached:
      return "cached";
    case BlobAction::kCopied:
      return "copied";
  }
  return "unknown";
}

std::string_view blob_state_name(BlobState state) noexcept {
  switch (state) {
    case BlobState::kChecking:
      return "checking";
    case BlobState::kExists:
      return "exists";
    case BlobState::kUploading:
      return "uploading";
    case BlobState::kDownloading:
      return "downloading";
    case BlobState::kCached:
      return "cached";
    case BlobState::kDone:
      return "done";
  }
  return "unknown";
}

}  // namespace ecr
