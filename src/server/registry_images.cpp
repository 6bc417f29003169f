// Registry: images and their tags (PutImage, BatchGetImage, BatchDeleteImage,
// ListImages, DescribeImages).
#include <algorithm>
#include <set>

#include "aws/image_tag.hpp"
#include "server/registry.hpp"
#include "server/registry_internal.hpp"

namespace ecr::server {
namespace {

std::string image_id_text(const ImageRef& ref) {
  std::string out = "{";
  if (ref.digest) out += "imageDigest:'" + *ref.digest + "'";
  if (ref.digest && ref.tag) out += ", ";
  if (ref.tag) out += "imageTag:'" + *ref.tag + "'";
  return out + "}";
}

}  // namespace

std::string Registry::resolve_image(std::int64_t repo_id, const std::string& repository,
                                    const ImageRef& ref) {
  std::optional<std::string> digest = ref.digest;
  if (ref.tag) {
    auto tagged = digest_for_tag(repo_id, *ref.tag);
    if (digest && tagged && *digest != *tagged) tagged.reset();
    digest = tagged;
  }
  if (digest) {
    sql::Statement s(*db_, "SELECT 1 FROM images WHERE repo_id = ? AND digest = ?");
    s.bind(1, repo_id).bind(2, *digest);
    if (s.step()) return *digest;
  }
  throw api::ImageNotFoundException("The image with imageId " + image_id_text(ref) +
                                    " does not exist within the repository with name '" +
                                    repository + "' in the registry with id '" +
                                    settings_.account_id + "'");
}

ManifestFacts facts_of(const ParsedManifest& m) {
  ManifestFacts facts;
  facts.media_type = m.media_type;
  if (m.config) {
    facts.artifact_media_type = m.config->media_type;
    facts.blobs.push_back({m.config->digest.str(), m.config->size, m.config->media_type});
  }
  for (const auto& layer : m.layers) {
    facts.blobs.push_back({layer.digest.str(), layer.size, layer.media_type});
    facts.layers_size += layer.size;
  }
  for (const auto& child : m.manifests) facts.children.push_back(child.digest.str());
  if (m.subject) facts.subject = m.subject->digest.str();
  return facts;
}

std::vector<std::string> Registry::tags(const std::string& repository) {
  std::lock_guard lock(mu_);
  RepoRow repo = find_repository(repository);
  sql::Statement s(*db_, "SELECT tag FROM image_tags WHERE repo_id = ? ORDER BY tag");
  s.bind(1, repo.id);
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.text(0));
  return out;
}

std::vector<ImageInfo> Registry::referrers(const std::string& repository,
                                           const std::string& subject) {
  std::lock_guard lock(mu_);
  RepoRow repo = find_repository(repository);
  sql::Statement s(*db_,
                   "SELECT image_digest FROM image_subjects WHERE repo_id = ? AND "
                   "subject_digest = ? ORDER BY image_digest");
  s.bind(1, repo.id).bind(2, subject);
  std::vector<std::string> digests;
  while (s.step()) digests.push_back(s.text(0));
  std::vector<ImageInfo> out;
  for (const auto& d : digests) out.push_back(load_image(repo.id, d));
  return out;
}

std::optional<std::string> Registry::digest_for_tag(std::int64_t repo_id, const std::string& tag) {
  sql::Statement s(*db_, "SELECT digest FROM image_tags WHERE repo_id = ? AND tag = ?");
  s.bind(1, repo_id).bind(2, tag);
  if (!s.step()) return std::nullopt;
  return s.text(0);
}

ImageInfo Registry::load_image(std::int64_t repo_id, const std::string& digest) {
  sql::Statement s(*db_,
                   "SELECT manifest, media_type, artifact_media_type, pushed_at, size, "
                   "storage_class, archived_at, activated_at, pulled_at FROM images "
                   "WHERE repo_id = ? AND digest = ?");
  s.bind(1, repo_id).bind(2, digest);
  if (!s.step()) throw api::ImageNotFoundException("image " + digest + " vanished");
  ImageInfo info;
  info.digest = digest;
  info.manifest = s.blob(0);
  info.media_type = s.text(1);
  info.artifact_media_type = s.optional_text(2);
  info.pushed_at = from_ms(s.integer(3));
  info.size = s.integer(4);
  auto optional_time = [&](int column) -> std::optional<std::int64_t> {
    if (s.is_null(column)) return std::nullopt;
    return s.integer(column);
  };
  const std::int64_t now = to_ms(clock_());
  const std::optional<std::int64_t> activated = optional_time(7);
  info.status = image_status(s.text(5), activated, now);
  if (auto t = optional_time(6)) info.archived_at = from_ms(*t);
  // A restore in progress has not activated the image yet.
  if (activated && *activated <= now) info.activated_at = from_ms(*activated);
  if (auto t = optional_time(8)) info.pulled_at = from_ms(*t);
  sql::Statement t(*db_,
                   "SELECT tag FROM image_tags WHERE repo_id = ? AND digest = ? ORDER BY tag");
  t.bind(1, repo_id).bind(2, digest);
  while (t.step()) info.tags.push_back(t.text(0));
  return info;
}

std::vector<ImageInfo> Registry::load_images(std::int64_t repo_id) {
  // Newest first, digest as tie-break: the stable order pages are cut from.
  sql::Statement s(*db_,
                   "SELECT digest FROM images WHERE repo_id = ? ORDER BY pushed_at DESC, digest");
  s.bind(1, repo_id);
  std::vector<std::string> digests;
  while (s.step()) digests.push_back(s.text(0));
  std::vector<ImageInfo> out;
  for (const auto& d : digests) out.push_back(load_image(repo_id, d));
  return out;
}

void Registry::delete_image_row(std::int64_t repo_id, const std::string& digest) {
  for (const char* text : {"DELETE FROM image_tags WHERE repo_id = ? AND digest = ?",
                           "DELETE FROM image_blobs WHERE repo_id = ? AND image_digest = ?",
                           "DELETE FROM image_children WHERE repo_id = ? AND image_digest = ?",
                           "DELETE FROM image_subjects WHERE repo_id = ? AND image_digest = ?",
                           "DELETE FROM images WHERE repo_id = ? AND digest = ?"}) {
    sql::Statement d(*db_, text);
    d.bind(1, repo_id).bind(2, digest).run();
  }
}

ImageInfo Registry::put_image(const std::string& repository, const std::string& manifest,
                              const ManifestFacts& facts, const std::optional<std::string>& tag,
                              const std::optional<std::string>& expected_digest) {
  std::string digest = Digest::of(manifest).str();
  if (expected_digest && *expected_digest != digest) {
    throw api::ImageDigestDoesNotMatchException("The specified digest '" + *expected_digest +
                                                "' does not match the calculated digest '" +
                                                digest + "' of the manifest");
  }
  if (tag && !aws::is_valid_image_tag(*tag)) {
    throw api::InvalidParameterException(
        "Invalid parameter at 'imageTag' failed to satisfy constraint: 'Invalid image tag'");
  }
  std::lock_guard lock(mu_);
  sql::Transaction tx(*db_);
  RepoRow repo = find_repository(repository);

  std::vector<std::string> missing;
  for (const auto& blob : facts.blobs) {
    sql::Statement s(*db_, "SELECT 1 FROM repository_blobs WHERE repo_id = ? AND digest = ?");
    s.bind(1, repo.id).bind(2, blob.digest);
    if (!s.step()) missing.push_back(blob.digest);
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& d : missing) list += (list.empty() ? "" : ", ") + d;
    throw api::LayersNotFoundException("Layers with digests '[" + list +
                                       "]' required for pushing image into repository with name '" +
                                       repository + "' in the registry with id '" +
                                       settings_.account_id + "' do not exist");
  }
  std::int64_t children_size = 0;
  for (const auto& child : facts.children) {
    sql::Statement s(*db_, "SELECT size FROM images WHERE repo_id = ? AND digest = ?");
    s.bind(1, repo.id).bind(2, child);
    if (!s.step()) {
      throw api::ReferencedImagesNotFoundException(
          "Some of the images referenced by the manifest list do not exist in the repository '" +
          repository + "': " + child);
    }
    children_size += s.integer(0);
  }

  sql::Statement exists(*db_, "SELECT 1 FROM images WHERE repo_id = ? AND digest = ?");
  exists.bind(1, repo.id).bind(2, digest);
  bool image_exists = exists.step();
  std::optional<std::string> tagged = tag ? digest_for_tag(repo.id, *tag) : std::nullopt;
  // Pushing an archived (or restoring) image again restores it at once, as
  // in ECR; the push succeeds even when it names no new tag.
  bool restored = false;
  if (image_exists && load_image(repo.id, digest).status != "ACTIVE") {
    set_storage_class(repo.id, digest, false, std::chrono::seconds(0));
    restored = true;
  }
  if (image_exists && !restored && (!tag || tagged == digest)) {
    throw api::ImageAlreadyExistsException(
        "Image with digest '" + digest + "'" + (tag ? " and tag '" + *tag + "'" : std::string()) +
        " already exists in the repository with name '" + repository + "' in registry with id '" +
        settings_.account_id + "'");
  }
  if (tagged && *tagged != digest &&
      tag_is_immutable(repo.info.tag_mutability, repo.info.tag_mutability_exclusions, *tag)) {
    throw api::ImageTagAlreadyExistsException(
        "The image tag '" + *tag + "' already exists in the '" + repository +
        "' repository and cannot be overwritten because the repository is immutable.");
  }
  if (!image_exists) {
    sql::Statement ins(
        *db_,
        "INSERT INTO images(repo_id, digest, manifest, media_type, artifact_media_type, "
        "pushed_at, size) VALUES(?,?,?,?,?,?,?)");
    ins.bind(1, repo.id).bind(2, digest).bind_blob(3, manifest).bind(4, facts.media_type);
    ins.bind(5, facts.artifact_media_type).bind(6, to_ms(clock_()));
    ins.bind(7, facts.children.empty() ? facts.layers_size : children_size).run();
    for (const auto& blob : facts.blobs) {
      sql::Statement ref(
          *db_,
          "INSERT OR IGNORE INTO image_blobs(repo_id, image_digest, blob_digest) VALUES(?,?,?)");
      ref.bind(1, repo.id).bind(2, digest).bind(3, blob.digest).run();
      sql::Statement mt(
          *db_, "UPDATE repository_blobs SET media_type = ? WHERE repo_id = ? AND digest = ?");
      mt.bind(1, blob.media_type).bind(2, repo.id).bind(3, blob.digest).run();
    }
    if (facts.subject) {
      sql::Statement ref(*db_,
                         "INSERT OR IGNORE INTO image_subjects(repo_id, image_digest, "
                         "subject_digest) VALUES(?,?,?)");
      ref.bind(1, repo.id).bind(2, digest).bind(3, *facts.subject).run();
    }
    for (const auto& child : facts.children) {
      sql::Statement ref(*db_,
                         "INSERT OR IGNORE INTO image_children(repo_id, image_digest, "
                         "child_digest) VALUES(?,?,?)");
      ref.bind(1, repo.id).bind(2, digest).bind(3, child).run();
    }
  }
  if (tag) {
    sql::Statement t(*db_, "INSERT OR REPLACE INTO image_tags(repo_id, tag, digest) VALUES(?,?,?)");
    t.bind(1, repo.id).bind(2, *tag).bind(3, digest).run();
  }
  ImageInfo info = load_image(repo.id, digest);
  tx.commit();
  return info;
}

std::vector<ImageInfo> Registry::get_images(const std::string& repository,
                                            const std::vector<ImageRef>& ids,
                                            std::vector<ImageFailure>& failures, bool record_pull) {
  std::lock_guard lock(mu_);
  RepoRow repo = find_repository(repository);
  std::vector<ImageInfo> out;
  for (const ImageRef& ref : ids) {
    if (!ref.digest && !ref.tag) {
      failures.push_back({ref, "MissingDigestAndTag",
                          "Invalid request parameters: image tag and digest are both missing"});
      continue;
    }
    if (ref.digest && !Digest::valid(*ref.digest)) {
      failures.push_back({ref, "InvalidImageDigest",
                          "Invalid request parameters: image digest should satisfy the regex "
                          "'[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'"});
      continue;
    }
    if (ref.tag && !aws::is_valid_image_tag(*ref.tag)) {
      failures.push_back({ref, "InvalidImageTag", "Invalid request parameters: invalid image tag"});
      continue;
    }
    std::optional<std::string> digest = ref.digest;
    if (ref.tag) {
      auto tagged = digest_for_tag(repo.id, *ref.tag);
      if (tagged && digest && *tagged != *digest) {
        failures.push_back(
            {ref, "ImageTagDoesNotMatchDigest",
             "Invalid request parameters: given tag does not match the given digest"});
        continue;
      }
      digest = tagged;
    }
    sql::Statement s(*db_, "SELECT 1 FROM images WHERE repo_id = ? AND digest = ?");
    if (digest) s.bind(1, repo.id).bind(2, *digest);
    if (!digest || !s.step()) {
      failures.push_back({ref, "ImageNotFound", "Requested image not found"});
      continue;
    }
    ImageInfo info = load_image(repo.id, *digest);
    if (info.status != "ACTIVE") {
      failures.push_back(
          {ref, "ImageInaccessible",
           info.status == "ARCHIVED"
               ? "Requested image is archived; restore it with UpdateImageStorageClass "
                 "(targetStorageClass STANDARD) to pull it"
               : "Requested image is being restored from the archive and can be pulled once it "
                 "is ACTIVE"});
      continue;
    }
    // The answer names the image as it was asked for.
    info.tags.clear();
    if (ref.tag) info.tags.push_back(*ref.tag);
    out.push_back(std::move(info));
  }
  if (record_pull) {
    std::vector<std::string> pulled;
    for (const auto& info : out) pulled.push_back(info.digest);
    record_pulls(repo.id, pulled);
  }
  return out;
}

std::vector<ImageRef> Registry::delete_images(const std::string& repository,
                                              const std::vector<ImageRef>& ids,
                                              std::vector<ImageFailure>& failures) {
  std::lock_guard lock(mu_);
  sql::Transaction tx(*db_);
  RepoRow repo = find_repository(repository);
  std::vector<ImageRef> deleted;
  for (const ImageRef& ref : ids) {
    if (!ref.digest && !ref.tag) {
      failures.push_back({ref, "MissingDigestAndTag",
                          "Invalid request parameters: image tag and digest are both missing"});
      continue;
    }
    if (ref.digest && !Digest::valid(*ref.digest)) {
      failures.push_back({ref, "InvalidImageDigest",
                          "Invalid request parameters: image digest should satisfy the regex "
                          "'[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'"});
      continue;
    }
    std::optional<std::string> digest = ref.digest;
    std::optional<std::string> tagged = ref.tag ? digest_for_tag(repo.id, *ref.tag) : std::nullopt;
    if (ref.tag && digest && tagged && *tagged != *digest) {
      failures.push_back({ref, "ImageTagDoesNotMatchDigest",
                          "Invalid request parameters: given tag does not match the given digest"});
      continue;
    }
    if (ref.tag) digest = tagged;
    sql::Statement s(*db_, "SELECT 1 FROM images WHERE repo_id = ? AND digest = ?");
    if (digest) s.bind(1, repo.id).bind(2, *digest);
    if (!digest || !s.step()) {
      failures.push_back({ref, "ImageNotFound", "Requested image not found"});
      continue;
    }
    if (ref.tag) {
      sql::Statement d(*db_, "DELETE FROM image_tags WHERE repo_id = ? AND tag = ?");
      d.bind(1, repo.id).bind(2, *ref.tag).run();
      deleted.push_back({digest, ref.tag});
      sql::Statement left(*db_, "SELECT 1 FROM image_tags WHERE repo_id = ? AND digest = ?");
      left.bind(1, repo.id).bind(2, *digest);
      if (left.step()) continue;  // the image keeps its other tags
    }
    sql::Statement parent(
        *db_, "SELECT 1 FROM image_children WHERE repo_id = ? AND child_digest = ? LIMIT 1");
    parent.bind(1, repo.id).bind(2, *digest);
    if (parent.step()) {
      if (!ref.tag) {
        failures.push_back({ref, "ImageReferencedByManifestList",
                            "Requested image is referenced by a manifest list"});
      }
      continue;
    }
    if (!ref.tag) {
      ImageInfo info = load_image(repo.id, *digest);
      if (info.tags.empty()) deleted.push_back({digest, std::nullopt});
      for (const auto& t : info.tags) deleted.push_back({digest, t});
    }
    delete_image_row(repo.id, *digest);
  }
  tx.commit();
  return deleted;
}

std::vector<ImageRef> Registry::list_images(const std::string& repository,
                                            const std::optional<std::string>& tag_status,
                                            const Page& page,
                                            std::optional<std::string>& next_token,
                                            const std::optional<std::string>& image_status) {
  std::lock_guard lock(mu_);
  RepoRow repo = find_repository(repository);
  std::string status = tag_status.value_or("ANY");
  std::vector<ImageRef> all;
  for (const ImageInfo& image : load_images(repo.id)) {
    if (image_status && *image_status != "ANY" && *image_status != image.status) continue;
    if (image.tags.empty()) {
      if (status != "TAGGED") all.push_back({image.digest, std::nullopt});
    } else if (status != "UNTAGGED") {
      for (const auto& t : image.tags) all.push_back({image.digest, t});
    }
  }
  return take_page(std::move(all), page, next_token);
}

std::vector<ImageInfo> Registry::describe_images(const std::string& repository,
                                                 const std::vector<ImageRef>& ids,
                                                 const std::optional<std::string>& tag_status,
                                                 const Page& page,
                                                 std::optional<std::string>& next_token,
                                                 const std::optional<std::string>& image_status) {
  std::lock_guard lock(mu_);
  RepoRow repo = find_repository(repository);
  std::vector<ImageInfo> out;
  if (!ids.empty()) {
    std::set<std::string> seen;
    for (const ImageRef& ref : ids) {
      const std::string digest = resolve_image(repo.id, repository, ref);
      if (seen.insert(digest).second) out.push_back(load_image(repo.id, digest));
    }
    next_token.reset();
    return out;
  }
  std::string status = tag_status.value_or("ANY");
  for (ImageInfo& image : load_images(repo.id)) {
    if ((status == "TAGGED" && image.tags.empty()) ||
        (status == "UNTAGGED" && !image.tags.empty())) {
      continue;
    }
    if (image_status && *image_status != "ANY" && *image_status != image.status) continue;
    out.push_back(std::move(image));
  }
  return take_page(std::move(out), page, next_token);
}

}  // namespace ecr::server
