// Content-addressed blob files shared by every repository, and the data files
// of layer upload sessions that become blobs.
//
// Layout under the root:
//   blobs/sha256/<hex>   verified blobs, immutable once visible
//   uploads/<uploadId>   bytes received so far for one upload session
// An upload file is the blob's temp file: each part is written and its data
// synced (fdatasync) before it is acknowledged; CompleteLayerUpload compares
// the digest (hashed as the parts arrived, or by reading the file back),
// fsyncs and renames it into blobs/. A crash at any point leaves either
// the whole verified blob or no blob (rename is atomic), never a partial one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "core/file.hpp"
#include "ecr/digest.hpp"

namespace ecr::server {

class BlobStore {
 public:
  // Creates the directories when missing. Throws ServiceError
  // "ServerException" when the root cannot be used.
  explicit BlobStore(std::filesystem::path root);

  // Removes upload files whose id is not in `live_uploads` (left by a crash
  // between creating the file and recording the session).
  void sweep_uploads(const std::set<std::string>& live_uploads) const;

  bool contains(const Digest& digest) const;
  std::optional<std::uint64_t> size(const Digest& digest) const;
  std::filesystem::path blob_path(const Digest& digest) const;

  // Writes `bytes` at `offset` of the upload's file and syncs its data and
  // length (fdatasync), so the part is durable before the client hears it
  // was received. When `offset` and `bytes.data()` are 4 KiB-aligned the
  // bytes bypass the page cache (O_DIRECT), all but an unaligned tail.
  // Bytes beyond offset+size from an earlier unacknowledged attempt are
  // truncated away. When a write fails (ENOSPC), the bytes of this part are
  // truncated away too, freeing their space, before the ServerException
  // ("blob store: cannot write <file>: No space left on device") leaves.
  void write_part(std::string_view upload_id, std::uint64_t offset, std::string_view bytes) const;

  // A part written while it arrives (IncomingPart): open_upload_direct()
  // opens the upload's file (created when missing) for direct I/O, invalid
  // when the file system refuses it; write_direct() writes whole 4 KiB
  // blocks from an aligned address at `offset` through it and returns how
  // many bytes it wrote (fewer, down to none, when the device refuses the
  // alignment); finish_part() is write_part() for a part whose first
  // `written` bytes are already in the file: it writes the rest, then
  // truncates and syncs as write_part() does.
  UniqueFd open_upload_direct(std::string_view upload_id) const;
  std::size_t write_direct(const UniqueFd& direct, std::string_view upload_id, std::uint64_t offset,
                           std::string_view bytes) const;
  void finish_part(std::string_view upload_id, std::uint64_t offset, std::string_view bytes,
                   std::size_t written) const;

  // The registry API's uploads, whose chunks come in any size and are
  // written a piece at a time as they arrive: the upload's file opened for
  // writing (created when missing), a piece written at `offset` through the
  // page cache, and the first `size` bytes made durable (data and length,
  // anything beyond truncated away) before the chunk is acknowledged.
  UniqueFd open_upload(std::string_view upload_id) const;
  void write_upload(const UniqueFd& file, std::string_view upload_id, std::uint64_t offset,
                    std::string_view bytes) const;
  void sync_upload(const UniqueFd& file, std::string_view upload_id, std::uint64_t size) const;
  // Cuts an upload's file back to the `size` bytes its session holds,
  // freeing the blocks of a part or chunk that failed half-way (a full
  // disk), so a failed write leaves no space taken behind it. Never throws.
  static void discard_tail(const UniqueFd& file, std::uint64_t size) noexcept;

  // The digest of the first `size` bytes of the upload's file is `known`
  // when the caller hashed the parts as they were written, else it is hashed
  // from the file here. When it equals `expected`, moves the file into blobs/
  // (or drops it when the blob is already there) and returns nullopt;
  // otherwise returns the digest found and leaves the upload file alone.
  std::optional<Digest> commit_upload(std::string_view upload_id, std::uint64_t size,
                                      const Digest& expected,
                                      const std::optional<Digest>& known = std::nullopt) const;

  // Deletes an upload's file (expired or completed session); missing is fine.
  void remove_upload(std::string_view upload_id) const;

  // Removes every blob whose digest is not in `keep` and whose size is not
  // in `keep_sizes`; returns how many and their bytes. Files that are not
  // named by a digest (temp files) are left.
  std::pair<std::size_t, std::uint64_t> sweep_blobs(
      const std::set<Digest>& keep, const std::set<std::uint64_t>& keep_sizes = {}) const;

  // Whether the upload's file exists (a completed upload's file became its
  // blob, or was dropped for the blob already there).
  bool has_upload(std::string_view upload_id) const;

  // Stores `bytes` as a blob through a temp file (fsync, verify, rename).
  // Returns its digest. Used for tests and imports of small blobs.
  Digest put(std::string_view bytes) const;

 private:
  std::filesystem::path upload_path(std::string_view upload_id) const;
  bool size_of_blob_equals(const Digest& digest, std::uint64_t n) const;
  std::filesystem::path root_;
};

// True for the canonical lowercase UUID form that InitiateLayerUpload issues;
// anything else never reaches a file path.
bool is_upload_id(std::string_view id) noexcept;

}  // namespace ecr::server
