#include "ecr/transfer.hpp"

namespace ecr {

void TransferOptions::validate() const {
  if (jobs < 1) {
    throw InputError("jobs must be at least 1 (got " + std::to_string(jobs) + ")");
  }
  if (part_size < kMinPartSize || part_size > kMaxPartSize) {
    throw InputError(
        "part size must be between 5 MiB (" + std::to_string(kMinPartSize) +
        " bytes: ECR refuses smaller parts) and 20 MiB (" + std::to_string(kMaxPartSize) +
        " bytes: the model's limit on layerPartBlob); got " + std::to_string(part_size));
  }
  if (platform && all_platforms) {
    throw InputError("choose either a platform or all platforms, not both");
  }
  compression.validate();
}

}  // namespace ecr
