// The registry's state and rules: repositories, layer uploads, images, tags,
// policies and lifecycle, stored in SQLite (metadata) and a BlobStore (bytes).
//
// Every method is one ECR operation's semantics on domain values, independent
// of the wire: it validates what the model cannot (existence, state, byte
// ranges), changes state in one SQLite transaction, and throws the client's
// typed errors (ecr/service_errors.hpp: api::RepositoryNotFoundException,
// api::InvalidLayerPartException with lastValidByteReceived, ...). Thread-safe:
// metadata access is serialised on one connection, while blob bytes (part
// writes, hashing on completion) are written outside that lock, so uploads of
// different layers proceed in parallel.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "core/thread_pool.hpp"
#include "ecr/manifest.hpp"
#include "ecr/service_errors.hpp"
#include "server/blob_store.hpp"
#include "server/incoming_part.hpp"
#include "server/lifecycle_policy.hpp"
#include "server/sqlite.hpp"
#include "server/upload_hashes.hpp"

namespace ecr::server {

using Clock = std::function<Timestamp()>;
Timestamp system_now();

struct RegistrySettings {
  std::string account_id = "000000000000";
  std::string region = "us-east-1";
  // Upload sessions idle longer than this expire and their bytes go (ECR
  // keeps an idle upload for 24 hours).
  std::chrono::seconds upload_expiry = std::chrono::hours(24);
  // A layer no image of its repository references stays available there
  // this long after it was uploaded or last reported available, then
  // collect_garbage() drops it (and its file, once no repository has it).
  std::chrono::seconds blob_retention = std::chrono::hours(24);
  // How long a restore from the archive storage class takes: the image is
  // ACTIVATING (not pullable) this long, then ACTIVE. 0: at once.
  std::chrono::seconds archive_restore_delay{0};
};

// What one collect_garbage() pass removed.
struct GarbageCollected {
  std::size_t layers = 0;   // repository-layer records dropped
  std::size_t blobs = 0;    // blob files removed
  std::uint64_t bytes = 0;  // their size
};
// "dropped 3 unreferenced layers, removed 2 blobs (12345 bytes)"
std::string garbage_summary(const GarbageCollected& gc);

struct RepositoryInfo {
  std::string name;
  Timestamp created_at;
  // MUTABLE | IMMUTABLE | MUTABLE_WITH_EXCLUSION | IMMUTABLE_WITH_EXCLUSION
  std::string tag_mutability = "MUTABLE";
  // A *_WITH_EXCLUSION mutability's WILDCARD filters (1 to 5); the tags
  // they match take the opposite rule. Empty for MUTABLE and IMMUTABLE.
  std::vector<std::string> tag_mutability_exclusions;
  bool scan_on_push = false;
  std::string encryption_type = "AES256";
  std::optional<std::string> kms_key;
};

// Whether a repository with this mutability keeps `tag` on the image it
// names: PutImage moving it to another image is ImageTagAlreadyExists.
bool tag_is_immutable(const std::string& mutability, const std::vector<std::string>& exclusions,
                      std::string_view tag);

struct Page {
  std::optional<std::int64_t> max_results;
  std::optional<std::string> next_token;
};

struct ImageRef {  // an ImageIdentifier: tag and/or digest
  std::optional<std::string> digest;
  std::optional<std::string> tag;
};

struct ImageInfo {
  std::string digest;
  std::string manifest;
  std::string media_type;
  std::optional<std::string> artifact_media_type;
  Timestamp pushed_at;
  std::int64_t size = 0;
  std::vector<std::string> tags;  // sorted
  // The archive storage class (UpdateImageStorageClass, lifecycle
  // transitions): ACTIVE, ARCHIVED or ACTIVATING (being restored) as of
  // the moment the image was read.
  std::string status = "ACTIVE";
  std::optional<Timestamp> archived_at = std::nullopt;   // lastArchivedAt
  std::optional<Timestamp> activated_at = std::nullopt;  // lastActivatedAt (a restore's end)
  std::optional<Timestamp> pulled_at = std::nullopt;     // lastRecordedPullTime
};

// What PutImage needs to know from a parsed manifest.
struct ManifestFacts {
  std::string media_type;
  std::optional<std::string> artifact_media_type;  // the config's media type
  struct Blob {
    std::string digest;
    std::int64_t size = 0;
    std::string media_type;
  };
  std::vector<Blob> blobs;             // config and layers
  std::vector<std::string> children;   // manifests an index references
  std::int64_t layers_size = 0;        // sum of layer sizes
  std::optional<std::string> subject;  // the manifest it refers to (OCI 1.1 referrers)
};
// The facts of a manifest parse_manifest accepted (both doors' PutImage).
ManifestFacts facts_of(const ParsedManifest& manifest);

struct ImageFailure {
  ImageRef ref;
  std::string code;  // ImageFailureCode
  std::string reason;
};

struct LayerAvailability {
  std::string digest;
  bool available = false;
  std::optional<std::int64_t> size;
  std::optional<std::string> media_type;
  bool archived = false;  // only archived (or restoring) images reference it
};

struct LayerFailure {
  std::string digest;
  std::string code;  // LayerFailureCode
  std::string reason;
};

struct PreviewResult {
  std::string digest;
  std::vector<std::string> tags;
  Timestamp pushed_at;
  std::int64_t rule_priority = 0;
  RuleAction action = RuleAction::kExpire;
  bool archived = false;  // the image's storage class when evaluated: ARCHIVE
};

struct LifecyclePreview {
  std::string status;  // IN_PROGRESS | COMPLETE
  std::string policy_text;
  std::vector<PreviewResult> results;
};

// A repository creation template (CreateRepositoryCreationTemplate): the
// settings a repository ECR creates on the caller's behalf starts with.
struct CreationTemplate {
  // "ROOT", or a namespace without its trailing '/' ("prod/team"): ECR
  // always assumes a '/' after the prefix, so "prod" and "prod/" are one.
  std::string prefix;
  std::vector<std::string> applied_for;  // RCTAppliedFor values, no repeats
  std::optional<std::string> description;
  std::string tag_mutability = "MUTABLE";  // as RepositoryInfo's
  std::vector<std::string> tag_mutability_exclusions;
  std::string encryption_type = "AES256";
  std::optional<std::string> kms_key;
  std::optional<std::string> lifecycle_policy;   // validated by the caller
  std::optional<std::string> repository_policy;  // a JSON object, checked by the caller
  std::vector<std::pair<std::string, std::string>> resource_tags;  // in the order given
  std::optional<std::string> custom_role_arn;
  Timestamp created_at;
  Timestamp updated_at;
};
// Templates one registry holds: ECR's quota on repository creation templates
// per registry (the quota table read for this did not show the row; 50 is
// the figure ECR gives its sibling quota, pull through cache rules).
inline constexpr std::size_t kMaxCreationTemplates = 50;

class Registry;

// Bytes appended to a layer upload by one request of the registry API (a
// PATCH chunk, or the body of the PUT or POST that ends an upload), written
// a piece at a time as they arrive. Nothing counts until commit(): a request
// that ends midway leaves the session as it was (its bytes past the
// session's end are overwritten by the next chunk). One append per session
// at a time (Registry::append_to_upload).
class UploadAppend {
 public:
  ~UploadAppend();
  UploadAppend(const UploadAppend&) = delete;
  UploadAppend& operator=(const UploadAppend&) = delete;

  // Where the appended bytes start: the session's size before this append.
  std::int64_t first_byte() const noexcept { return first_byte_; }
  std::int64_t bytes_written() const noexcept { return written_; }
  // Writes the next piece. Throws api::ServerException when the disk fails.
  void write(std::string_view piece);
  // Makes the bytes durable and records them in the session; returns the
  // session's new size. Throws api::UploadNotFoundException when the
  // session went meanwhile (expired, cancelled, its repository deleted).
  std::int64_t commit();

 private:
  friend class Registry;
  UploadAppend(Registry& registry, std::string repository, std::string upload_id,
               std::int64_t first_byte);
  Registry& registry_;
  std::string repository_;
  std::string upload_id_;
  std::int64_t first_byte_ = 0;
  std::int64_t written_ = 0;
  UniqueFd file_;
  std::optional<Sha256Lane> hash_;  // the session's running digest, fed piece by piece
  bool hash_ok_ = true;
  bool committed_ = false;  // recorded in the session: the bytes stay
};

class Registry {
 public:
  Registry(std::filesystem::path root, RegistrySettings settings, Clock clock = system_now);
  ~Registry();

  const RegistrySettings& settings() const noexcept { return settings_; }
  const BlobStore& blobs() const noexcept { return blobs_; }
  // Running digests of live uploads (see upload_hashes.hpp).
  const UploadHashes& upload_hashes() const noexcept { return upload_hashes_; }
  Timestamp now() const { return clock_(); }

  // Repositories.
  RepositoryInfo create_repository(const RepositoryInfo& wanted,
                                   const std::map<std::string, std::string>& tags);
  RepositoryInfo repository(const std::string& name);
  std::vector<RepositoryInfo> describe_repositories(const std::vector<std::string>& names,
                                                    const Page& page,
                                                    std::optional<std::string>& next_token);
  RepositoryInfo delete_repository(const std::string& name, bool force);
  void set_tag_mutability(const std::string& name, const std::string& mutability,
                          const std::vector<std::string>& exclusions);
  void set_scan_on_push(const std::string& name, bool scan_on_push);
  void tag_repository(const std::string& name, const std::map<std::string, std::string>& tags);
  void untag_repository(const std::string& name, const std::vector<std::string>& keys);
  std::map<std::string, std::string> repository_tags(const std::string& name);

  // Policies. The repository policy is stored as given (valid JSON checked
  // by the caller); the lifecycle policy is validated here.
  void set_repository_policy(const std::string& name, const std::string& text);
  std::string repository_policy(const std::string& name);
  std::string delete_repository_policy(const std::string& name);
  void put_lifecycle_policy(const std::string& name, const std::string& text);
  // Policy text and when it was last applied (nullopt: never).
  std::pair<std::string, std::optional<Timestamp>> lifecycle_policy(const std::string& name);
  std::pair<std::string, std::optional<Timestamp>> delete_lifecycle_policy(const std::string& name);

  // Account settings (PutAccountSetting): the value put, nullopt when none
  // was (the operation knows the names and their defaults).
  void set_account_setting(const std::string& name, const std::string& value);
  std::optional<std::string> account_setting(const std::string& name);

  // Registry-wide configuration (registry_config.cpp): the signing
  // configuration, the registry policy and the registry scanning
  // configuration, each one document stored as the operation encoded it.
  void put_registry_document(std::string_view name, const std::string& body);
  std::optional<std::string> registry_document(std::string_view name);
  // Removes the document and returns what it was; nullopt when there was none.
  std::optional<std::string> delete_registry_document(std::string_view name);
  // Pull-time update exclusions, by principal ARN. add_ returns when it was
  // added; throws api::ExclusionAlreadyExistsException for one already there
  // and api::LimitExceededException when `limit` are there already.
  Timestamp add_pull_time_exclusion(const std::string& principal_arn, std::size_t limit);
  // Throws api::ExclusionNotFoundException when it is not there.
  void remove_pull_time_exclusion(const std::string& principal_arn);
  // In byte order of the ARN, one page at a time.
  std::vector<std::string> pull_time_exclusions(const Page& page,
                                                std::optional<std::string>& next_token);
  // Manual image scans (StartImageScan): the image `ref` names in the
  // repository gets `scan` recorded (replacing an earlier one) until it is
  // deleted. Both throw RepositoryNotFoundException and
  // ImageNotFoundException; image_scan returns the image's digest and its
  // scan, nullopt when none was started.
  struct ImageScan {
    std::string status;       // ScanStatus
    std::string description;  // ScanStatusDescription
    Timestamp started_at;
  };
  std::string record_image_scan(const std::string& repository, const ImageRef& ref,
                                const std::string& status, const std::string& description);
  std::pair<std::string, std::optional<ImageScan>> image_scan(const std::string& repository,
                                                              const ImageRef& ref);
  // Every scan started for the repository's images, by image digest
  // (DescribeImages' imageScanStatus).
  std::map<std::string, ImageScan> image_scans(const std::string& repository);

  // Layer uploads.
  std::string initiate_upload(const std::string& repository);
  // Returns the last byte received after this part. For a part taken in
  // as it arrived (LayerPartIntake): `fed_hash`, the upload's layer digest
  // already fed `bytes`, as take_upload_hash() gave it for this upload and
  // first_byte; `incoming`, the part's first bytes already written, as
  // receive_part() began it (ignored unless for this upload and first_byte).
  std::int64_t upload_part(const std::string& repository, const std::string& upload_id,
                           std::int64_t first_byte, std::int64_t last_byte, std::string_view bytes,
                           std::optional<Sha256Lane> fed_hash = std::nullopt,
                           IncomingPart* incoming = nullptr);
  // The upload's layer digest where it stops at first_byte, taken out to be
  // fed a part as it arrives and handed back through upload_part(); nullopt
  // when there is none that stops there (the part is then digested as it is
  // written, or completion hashes the file).
  std::optional<Sha256Lane> take_upload_hash(const std::string& upload_id,
                                             std::int64_t first_byte) noexcept;
  // The upload taken for a part that starts at first_byte to be written as
  // it arrives (incoming_part.hpp), stopping the one that had it; null when
  // the upload does not exist or has expired, holds another number of bytes,
  // has a registry API chunk being written, or first_byte is not
  // block-aligned, or the file system refuses direct I/O.
  std::unique_ptr<IncomingPart> receive_part(const std::string& upload_id,
                                             std::int64_t first_byte) noexcept;
  std::string complete_upload(const std::string& repository, const std::string& upload_id,
                              const std::vector<std::string>& digests);
  std::vector<LayerAvailability> check_layers(const std::string& repository,
                                              const std::vector<std::string>& digests,
                                              std::vector<LayerFailure>& failures);
  // The size of a blob the repository may serve for download.
  std::int64_t downloadable_layer(const std::string& repository, const std::string& digest);
  // Drops upload sessions idle past the expiry, with their bytes.
  std::size_t expire_uploads();
  // Drops layers no image of their repository references once they are
  // older than blob_retention (uploaded, or last reported available by
  // BatchCheckLayerAvailability, before then), then removes the blob files
  // no repository has any more. Files being completed meanwhile are safe.
  GarbageCollected collect_garbage();

  // The registry API's view of the same uploads and layers (OCI
  // distribution: registry_api.hpp).
  // Bytes the session received so far; UploadNotFoundException as above.
  std::int64_t upload_size(const std::string& repository, const std::string& upload_id);
  // Starts appending at the session's end. Throws UploadNotFoundException,
  // or InvalidLayerPartException while another request appends to it or
  // sends it a part.
  std::unique_ptr<UploadAppend> append_to_upload(const std::string& repository,
                                                 const std::string& upload_id);
  // Ends a session and drops its bytes; UploadNotFoundException as above.
  void cancel_upload(const std::string& repository, const std::string& upload_id);
  // The size of a layer the repository holds (uploaded, mounted or pushed
  // by either door); nullopt when it has none by that digest.
  std::optional<std::int64_t> layer_size(const std::string& repository, const std::string& digest);
  // Makes `from`'s layer `digest` a layer of `repository` without copying
  // it, when an image of `from` references it; false (nothing changed)
  // otherwise. RepositoryNotFoundException for `repository`.
  bool mount_layer(const std::string& repository, const std::string& from,
                   const std::string& digest);
  // The repository's tags, sorted (byte order).
  std::vector<std::string> tags(const std::string& repository);
  // The images whose manifest names `subject` as its subject, by digest.
  std::vector<ImageInfo> referrers(const std::string& repository, const std::string& subject);

  // Images.
  ImageInfo put_image(const std::string& repository, const std::string& manifest,
                      const ManifestFacts& facts, const std::optional<std::string>& tag,
                      const std::optional<std::string>& expected_digest);
  // A pull: archived and restoring images are failures (ImageInaccessible);
  // the others' lastRecordedPullTime is recorded unless `record_pull` is
  // false (a HEAD through the registry API).
  std::vector<ImageInfo> get_images(const std::string& repository, const std::vector<ImageRef>& ids,
                                    std::vector<ImageFailure>& failures, bool record_pull = true);
  std::vector<ImageRef> delete_images(const std::string& repository,
                                      const std::vector<ImageRef>& ids,
                                      std::vector<ImageFailure>& failures);
  // tag_status: TAGGED | UNTAGGED | ANY (nullopt: ANY); image_status:
  // ACTIVE | ARCHIVED | ACTIVATING | ANY (nullopt: ANY).
  std::vector<ImageRef> list_images(const std::string& repository,
                                    const std::optional<std::string>& tag_status, const Page& page,
                                    std::optional<std::string>& next_token,
                                    const std::optional<std::string>& image_status = {});
  std::vector<ImageInfo> describe_images(const std::string& repository,
                                         const std::vector<ImageRef>& ids,
                                         const std::optional<std::string>& tag_status,
                                         const Page& page, std::optional<std::string>& next_token,
                                         const std::optional<std::string>& image_status = {});

  // The archive storage class (registry_archive.cpp).
  struct StorageClassChange {
    std::string digest;
    std::string status;  // ImageStatus after the change
  };
  // UpdateImageStorageClass: target ARCHIVE or STANDARD. Throws
  // ImageNotFoundException, InvalidParameterException (no or a malformed
  // tag/digest), ImageStorageClassUpdateNotSupportedException (already in
  // that storage class, being restored, or a child of an active index).
  StorageClassChange update_storage_class(const std::string& repository, const ImageRef& ref,
                                          const std::string& target);
  // True when images of the repository reference the layer and all of them
  // are archived or being restored: it cannot be pulled.
  bool layer_archived(const std::string& repository, const std::string& digest);

  // Repository creation templates and create-on-push
  // (registry_templates.cpp). Prefixes are taken with or without their
  // trailing '/'.
  // Stores a new template; TemplateAlreadyExistsException when its prefix
  // has one, LimitExceededException past kMaxCreationTemplates.
  CreationTemplate create_creation_template(const CreationTemplate& wanted);
  // The templates of `prefixes` (all when empty; unknown prefixes are left
  // out), in prefix byte order, one page of them.
  std::vector<CreationTemplate> describe_creation_templates(
      const std::vector<std::string>& prefixes, const Page& page,
      std::optional<std::string>& next_token);
  // Applies `change` to the stored template and stores the result, in one
  // step; TemplateNotFoundException when the prefix has none.
  CreationTemplate update_creation_template(const std::string& prefix,
                                            const std::function<void(CreationTemplate&)>& change);
  CreationTemplate delete_creation_template(const std::string& prefix);
  // The repository a push writes to: `name` when it exists, else a new
  // repository made from the CREATE_ON_PUSH template that matches `name`
  // (the longest prefix P with `name` starting with "P/", else ROOT) with
  // that template's settings. Check and creation are one transaction, so
  // concurrent first pushes make one repository. Throws
  // RepositoryNotFoundException when it does not exist and no template
  // applies. Every write of a push (both doors) comes through here.
  RepositoryInfo repository_for_push(const std::string& name);
  // Whether a push to `name`, which does not exist, would create it.
  bool creates_on_push(const std::string& name);

  // Lifecycle.
  // Evaluates `policy_text` (or the stored policy) now and records the
  // preview as IN_PROGRESS; the first read marks it COMPLETE.
  LifecyclePreview start_lifecycle_preview(const std::string& repository,
                                           const std::optional<std::string>& policy_text);
  LifecyclePreview lifecycle_preview(const std::string& repository);
  // Applies every repository's lifecycle policy; returns images expired or
  // archived.
  std::size_t apply_lifecycle_policies();

 private:
  struct RepoRow;
  RepoRow find_repository(const std::string& name);  // caller holds mu_
  std::vector<ImageInfo> load_images(std::int64_t repo_id);
  ImageInfo load_image(std::int64_t repo_id, const std::string& digest);
  std::optional<std::string> digest_for_tag(std::int64_t repo_id, const std::string& tag);
  void delete_image_row(std::int64_t repo_id, const std::string& digest);
  std::vector<PreviewResult> evaluate(std::int64_t repo_id, const std::string& policy_text);
  std::mutex& upload_lock(const std::string& upload_id);
  void add_blob_timestamps();  // schema migrations, at open
  void add_tag_mutability_exclusions();
  void add_archive_columns();  // schema migration, at open (registry_archive.cpp)
  // Sets lastRecordedPullTime of the images (digests) to now where it is
  // older than kPullRecordInterval; caller holds mu_.
  void record_pulls(std::int64_t repo_id, const std::vector<std::string>& digests);
  // Moves an image to the archive or back (restore_delay 0: ACTIVE at once).
  void set_storage_class(std::int64_t repo_id, const std::string& digest, bool archive,
                         std::chrono::seconds restore_delay);
  std::string resolve_image(std::int64_t repo_id, const std::string& repository,
                            const ImageRef& ref);  // caller holds mu_

  std::filesystem::path root_;
  RegistrySettings settings_;
  Clock clock_;
  BlobStore blobs_;
  std::mutex mu_;  // guards db_ and part_db_
  std::unique_ptr<sql::Database> db_;
  // Records accepted parts only, without syncing the WAL: the part's bytes
  // were synced just before, and a second sync per part cost ~4 ms of the
  // client's wait (docs/ecr-local.md, Storage, says what this promises).
  std::unique_ptr<sql::Database> part_db_;
  // Parts of one upload are serialised so the range check and the write are
  // one step; striped so unrelated uploads rarely share a lock.
  static constexpr std::size_t kUploadLockStripes = 64;
  std::array<std::mutex, kUploadLockStripes> upload_locks_;
  UploadHashes upload_hashes_;
  // Feed an UploadLayerPart's bytes to its layer digest while the handler
  // thread writes them (upload_part): one worker per core, started once, not
  // a thread per part.
  ThreadPool digest_feeders_;
  // Upload sessions a registry API request is appending to (UploadAppend).
  std::mutex appending_mu_;
  std::set<std::string, std::less<>> appending_;
  // The part being written as it arrives to each upload (incoming_part.hpp),
  // under appending_mu_.
  std::map<std::string, IncomingPart*, std::less<>> incoming_;
  // Stops the upload's IncomingPart unless it is `keep`, and forgets it; the
  // caller holds appending_mu_.
  void stop_incoming(const std::string& upload_id, const IncomingPart* keep) noexcept;
  friend class UploadAppend;
  friend class IncomingPart;
  // Held shared from a completed upload's rename into blobs/ until its
  // layer is recorded, exclusively by collect_garbage's file sweep: a blob
  // is never swept between the two.
  std::shared_mutex blob_sweep_mu_;
};

// Opaque paging tokens: the offset into a stable ordering, base64-encoded so
// clients treat it as opaque. Throws api::InvalidParameterException
// for a token this server did not issue.
std::string encode_page_token(std::size_t offset);
std::size_t decode_page_token(const std::string& token);

}  // namespace ecr::server
