// The one step that makes a blob visible at blobs/sha256/<hex> (DESIGN.md
// storage rules), shared by the client cache, ecr-local's blob store and the
// OCI layout sink. Each writes and hashes the bytes its own way (ranged writes
// hashed in order, a running upload digest, a verifying reader) into a file on
// the blob's filesystem; this step checks what they hashed to, fsyncs the
// file, renames it into place and fsyncs the directory, so a crash at any
// point leaves either the whole verified blob or nothing visible.
#pragma once

#include <cstdint>
#include <filesystem>

#include "core/file.hpp"
#include "ecr/digest.hpp"

namespace ecr {

enum class BlobCommit {
  kPlaced,          // the file is now the blob
  kAlreadyPresent,  // an earlier writer placed the blob; the file was removed
};

// Commits `temp`, whose `size` bytes hash to `found`, as the blob `expected`
// at `target`. When `target` already exists, another writer got there first
// with the same verified bytes: its file is kept (readers may hold it open)
// and `temp` removed. Throws IntegrityError when `found` is not `expected`,
// InputError on I/O failure; `temp` is then left to remove itself.
BlobCommit commit_blob(TempFile& temp, const Digest& expected, const Digest& found,
                       std::int64_t size, const std::filesystem::path& target);

// The same for a file that is not a TempFile (ecr-local's upload file, which
// outlives a request), open as `fd` at `file`; on failure it stays in place.
BlobCommit commit_blob(int fd, const std::filesystem::path& file, const Digest& expected,
                       const Digest& found, std::int64_t size, const std::filesystem::path& target);

}  // namespace ecr
