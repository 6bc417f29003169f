#include "core/blob_commit.hpp"

#include <unistd.h>

#include <string>
#include <system_error>

#include "ecr/error.hpp"

namespace ecr {
namespace {

namespace fs = std::filesystem;

void verify(const Digest& expected, const Digest& found, std::int64_t size) {
  if (found != expected) {
    throw IntegrityError("blob " + expected.str() + ": content hashes to " + found.str() + " (" +
                         std::to_string(size) + " bytes written)");
  }
}

bool already_present(const fs::path& target) {
  std::error_code ec;
  return fs::exists(target, ec);
}

}  // namespace

BlobCommit commit_blob(TempFile& temp, const Digest& expected, const Digest& found,
                       std::int64_t size, const fs::path& target) {
  verify(expected, found, size);
  if (already_present(target)) {
    temp.remove();
    return BlobCommit::kAlreadyPresent;
  }
  temp.commit(target);
  return BlobCommit::kPlaced;
}

BlobCommit commit_blob(int fd, const fs::path& file, const Digest& expected, const Digest& found,
                       std::int64_t size, const fs::path& target) {
  verify(expected, found, size);
  if (already_present(target)) {
    // A leftover is harmless: the blob is in place, and its owner sweeps the file.
    ::unlink(file.c_str());
    return BlobCommit::kAlreadyPresent;
  }
  rename_durably(fd, file, target);
  return BlobCommit::kPlaced;
}

}  // namespace ecr
