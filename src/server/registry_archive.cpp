// Registry: the archive storage class (UpdateImageStorageClass, restores,
// archived layers) and lastRecordedPullTime.
#include "server/registry.hpp"
#include "server/registry_internal.hpp"

namespace ecr::server {
namespace {

// A pull records its time at most this often per image, so a busy image
// costs one metadata write a minute rather than one per pull (ECR itself
// refreshes lastRecordedPullTime at least once every 24 hours).
constexpr std::int64_t kPullRecordIntervalMs = 60'000;

}  // namespace

std::string image_status(const std::string& storage_class,
                         const std::optional<std::int64_t>& activated_at_ms, std::int64_t now_ms) {
  if (storage_class == "ARCHIVE") return "ARCHIVED";
  if (activated_at_ms && *activated_at_ms > now_ms) return "ACTIVATING";
  return "ACTIVE";
}

void Registry::add_archive_columns() {
  // Roots made before the archive storage class: every image is STANDARD,
  // never archived, restored or pulled; earlier previews only expired.
  struct Column {
    const char* table;
    const char* name;
    const char* definition;
  };
  static constexpr Column kColumns[] = {
      {"images", "storage_class", "TEXT NOT NULL DEFAULT 'STANDARD'"},
      {"images", "archived_at", "INTEGER"},
      {"images", "activated_at", "INTEGER"},
      {"images", "pulled_at", "INTEGER"},
      {"lifecycle_preview_results", "action", "TEXT NOT NULL DEFAULT 'EXPIRE'"},
      {"lifecycle_preview_results", "storage_class", "TEXT NOT NULL DEFAULT 'STANDARD'"},
  };
  sql::Transaction tx(*db_);
  for (const Column& c : kColumns) {
    if (has_column(*db_, c.table, c.name)) continue;
    db_->exec(std::string("ALTER TABLE ") + c.table + " ADD COLUMN " + c.name + " " + c.definition);
  }
  tx.commit();
}

void Registry::record_pulls(std::int64_t repo_id, const std::vector<std::string>& digests) {
  if (digests.empty()) return;
  const std::int64_t now = to_ms(clock_());
  // Read first: most pulls find a recent enough time and write nothing.
  std::vector<std::string> stale;
  for (const auto& digest : digests) {
    sql::Statement s(*db_, "SELECT pulled_at FROM images WHERE repo_id = ? AND digest = ?");
    s.bind(1, repo_id).bind(2, digest);
    if (s.step() && (s.is_null(0) || s.integer(0) <= now - kPullRecordIntervalMs)) {
      stale.push_back(digest);
    }
  }
  if (stale.empty()) return;
  // Through the connection that does not sync its commits: a pull time lost
  // to a power cut is harmless, an fsync on the pull path is not. For the
  // same reason a pull time SQLite cannot write (SQLITE_FULL on a full disk)
  // is dropped, rolled back whole: the pull itself reads only, and images
  // already stored stay pullable while the disk is full.
  try {
    sql::Transaction tx(*part_db_);
    for (const auto& digest : stale) {
      sql::Statement u(*part_db_,
                       "UPDATE images SET pulled_at = ? WHERE repo_id = ? AND digest = ?");
      u.bind(1, now).bind(2, repo_id).bind(3, digest).run();
    }
    tx.commit();
  } catch (const api::ServerException&) {
  }
}

void Registry::set_storage_class(std::int64_t repo_id, const std::string& digest, bool archive,
                                 std::chrono::seconds restore_delay) {
  const std::int64_t now = to_ms(clock_());
  if (archive) {
    sql::Statement u(*db_,
                     "UPDATE images SET storage_class = 'ARCHIVE', archived_at = ? "
                     "WHERE repo_id = ? AND digest = ?");
    u.bind(1, now).bind(2, repo_id).bind(3, digest).run();
    return;
  }
  sql::Statement u(*db_,
                   "UPDATE images SET storage_class = 'STANDARD', activated_at = ? "
                   "WHERE repo_id = ? AND digest = ?");
  u.bind(1, now + std::chrono::duration_cast<std::chrono::milliseconds>(restore_delay).count());
  u.bind(2, repo_id).bind(3, digest).run();
}

Registry::StorageClassChange Registry::update_storage_class(const std::string& repository,
                                                            const ImageRef& ref,
                                                            const std::string& target) {
  if (!ref.digest && !ref.tag) {
    throw api::InvalidParameterException(
        "Invalid parameter at 'imageId' failed to satisfy constraint: 'imageTag or imageDigest "
        "must be given'");
  }
  if (ref.digest && !Digest::valid(*ref.digest)) {
    throw api::InvalidParameterException(
        "Invalid parameter at 'imageDigest' failed to satisfy constraint: 'Invalid digest: " +
        *ref.digest + "'");
  }
  std::lock_guard lock(mu_);
  sql::Transaction tx(*db_);
  RepoRow repo = find_repository(repository);
  const std::string digest = resolve_image(repo.id, repository, ref);
  ImageInfo image = load_image(repo.id, digest);
  auto refuse = [&](const std::string& why) {
    throw api::ImageStorageClassUpdateNotSupportedException("The image with digest '" + digest +
                                                            "' in the repository with name '" +
                                                            repository + "' " + why);
  };
  if (target == "ARCHIVE") {
    if (image.status == "ARCHIVED") refuse("is already in the ARCHIVE storage class");
    if (image.status == "ACTIVATING")
      refuse("is being restored and cannot be archived until it is ACTIVE");
    // Archiving a child alone would leave its index unpullable in part.
    sql::Statement parent(*db_,
                          "SELECT c.image_digest FROM image_children c JOIN images i ON "
                          "i.repo_id = c.repo_id AND i.digest = c.image_digest WHERE c.repo_id = ? "
                          "AND c.child_digest = ? AND i.storage_class = 'STANDARD' LIMIT 1");
    parent.bind(1, repo.id).bind(2, digest);
    if (parent.step()) {
      refuse("is referenced by the manifest list '" + parent.text(0) +
             "', which is not archived; archive the manifest list first");
    }
    set_storage_class(repo.id, digest, true, {});
  } else {
    if (image.status == "ACTIVE") refuse("is already in the STANDARD storage class");
    if (image.status == "ACTIVATING") refuse("is already being restored");
    set_storage_class(repo.id, digest, false, settings_.archive_restore_delay);
  }
  StorageClassChange change{digest, load_image(repo.id, digest).status};
  tx.commit();
  return change;
}

bool Registry::layer_archived(const std::string& repository, const std::string& digest) {
  std::lock_guard lock(mu_);
  RepoRow repo = find_repository(repository);
  sql::Statement s(*db_,
                   "SELECT COUNT(*), COALESCE(SUM(i.storage_class = 'STANDARD' AND "
                   "(i.activated_at IS NULL OR i.activated_at <= ?)), 0) FROM image_blobs b "
                   "JOIN images i ON i.repo_id = b.repo_id AND i.digest = b.image_digest "
                   "WHERE b.repo_id = ? AND b.blob_digest = ?");
  s.bind(1, to_ms(clock_())).bind(2, repo.id).bind(3, digest);
  s.step();
  return s.integer(0) > 0 && s.integer(1) == 0;
}

}  // namespace ecr::server
