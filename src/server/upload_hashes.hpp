// The running SHA-256 of each live layer upload, fed as parts are accepted,
// so CompleteLayerUpload compares digests without reading the upload back
// (a 770 MB push used to re-read and re-hash every byte at completion, while
// the client waited).
//
// Kept in memory only. A hash covers the upload's bytes [0, n) exactly as
// they were written, in order; anything that breaks that (a restart, a part
// that does not start where the hash stops, a failed update) drops it, and
// completion then hashes the upload file as before. The check at completion
// is as strict either way: the digest is of the bytes the file holds.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/sha256_lanes.hpp"
#include "ecr/digest.hpp"

namespace ecr::server {

class UploadHashes {
 public:
  // Feeds `bytes`, just written at `offset` of the upload's file. Offset 0
  // starts a new hash; any other offset must be where the upload's hash
  // stops, or the hash is dropped. Never throws: a hash that cannot be
  // updated is dropped.
  void add(const std::string& upload_id, std::uint64_t offset, std::string_view bytes) noexcept;

  // add() in two steps, for a caller that feeds the hash while it writes the
  // part: take_at() takes the upload's hash out to be fed the part at
  // `offset` (a new hash at offset 0; nullopt, the hash dropped, when it
  // does not stop there), put_back() returns it once fed and written. A hash
  // not put back is simply gone: completion then hashes the file.
  std::optional<Sha256Lane> take_at(const std::string& upload_id, std::uint64_t offset) noexcept;
  void put_back(const std::string& upload_id, Sha256Lane hash) noexcept;
  // take_at() for a part that is still arriving and not yet checked
  // (LayerPartIntake): the hash is taken only when it stops at `offset` (a
  // new one at offset 0), and otherwise left where it is, so that a stale or
  // stray request does not cost the upload its hash.
  std::optional<Sha256Lane> take_if_at(const std::string& upload_id, std::uint64_t offset) noexcept;

  // Removes the upload's hash and returns its digest when it covers exactly
  // the first `size` bytes; nullopt otherwise (the file must be hashed).
  std::optional<Digest> take(const std::string& upload_id, std::uint64_t size) noexcept;

  // Drops the upload's hash (session expired, deleted or completed).
  void forget(const std::string& upload_id) noexcept;

  // Uploads with a hash (tests).
  std::size_t size() const;

 private:
  mutable std::mutex mu_;
  // Sha256Lane::size() is where each hash stops.
  std::map<std::string, Sha256Lane, std::less<>> hashes_;
};

}  // namespace ecr::server
