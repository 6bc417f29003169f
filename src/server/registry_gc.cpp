// Garbage collection: layers no image references, once past the retention,
// and then the blob files no repository has.
#include <chrono>
#include <set>

#include "server/registry.hpp"
#include "server/registry_internal.hpp"

namespace ecr::server {

GarbageCollected Registry::collect_garbage() {
  GarbageCollected out;
  const std::int64_t cutoff =
      to_ms(clock_()) -
      std::chrono::duration_cast<std::chrono::milliseconds>(settings_.blob_retention).count();
  {
    std::lock_guard lock(mu_);
    sql::Transaction tx(*db_);
    sql::Statement drop(*db_,
                        "DELETE FROM repository_blobs WHERE added_at <= ? AND NOT EXISTS "
                        "(SELECT 1 FROM image_blobs WHERE image_blobs.repo_id = "
                        "repository_blobs.repo_id AND image_blobs.blob_digest = "
                        "repository_blobs.digest)");
    drop.bind(1, cutoff).run();
    out.layers = static_cast<std::size_t>(db_->changes());
    tx.commit();
  }
  // No upload completes (renames its file into blobs/ and records it)
  // while the files are swept.
  std::unique_lock sweep(blob_sweep_mu_);
  std::set<Digest> kept;
  // A kill between an upload's file becoming its blob and the session
  // closing leaves a session without a file and a blob no repository holds
  // yet: the client's retried CompleteLayerUpload records it (commit_upload
  // finds the blob in place). The session does not say which digest it
  // completed, but the blob has the size it received: blobs of such a size
  // stay until the session goes (completed, cancelled or expired).
  std::set<std::uint64_t> claimable_sizes;
  {
    std::lock_guard lock(mu_);
    sql::Statement held(*db_, "SELECT DISTINCT digest FROM repository_blobs");
    while (held.step()) {
      if (Digest::valid(held.text(0))) kept.insert(Digest::parse(held.text(0)));
    }
    sql::Statement sessions(*db_, "SELECT upload_id, received FROM uploads WHERE received > 0");
    while (sessions.step()) {
      if (is_upload_id(sessions.text(0)) && !blobs_.has_upload(sessions.text(0))) {
        claimable_sizes.insert(static_cast<std::uint64_t>(sessions.integer(1)));
      }
    }
  }
  std::tie(out.blobs, out.bytes) = blobs_.sweep_blobs(kept, claimable_sizes);
  return out;
}

std::string garbage_summary(const GarbageCollected& gc) {
  return "dropped " + std::to_string(gc.layers) + " unreferenced layers, removed " +
         std::to_string(gc.blobs) + " blobs (" + std::to_string(gc.bytes) + " bytes)";
}

}  // namespace ecr::server
