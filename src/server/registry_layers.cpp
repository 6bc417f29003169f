// Registry: layer uploads, layer availability and download eligibility.
#include <openssl/rand.h>

#include <cstdio>
#include <future>

#include "server/registry.hpp"
#include "server/registry_internal.hpp"

namespace ecr::server {
namespace {

// Every part but the last must be at least this long (ECR service quota;
// CompleteLayerUpload answers LayerPartTooSmallException otherwise).
constexpr std::int64_t kMinPartBytes = 5 * 1024 * 1024;
// The model's limit on one layerPartBlob (LayerPartBlob max).
constexpr std::int64_t kMaxPartBytes = 20'971'520;

std::string new_upload_id() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) throw api::ServerException("no randomness for an upload id");
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  char text[37];
  std::snprintf(text, sizeof text,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return text;
}

struct UploadRow {
  std::int64_t received = 0;
  std::int64_t last_part_size = 0;
  bool small_part = false;
  std::int64_t updated_at = 0;
};

}  // namespace

std::mutex& Registry::upload_lock(const std::string& upload_id) {
  return upload_locks_[std::hash<std::string>()(upload_id) % kUploadLockStripes];
}

std::string Registry::initiate_upload(const std::string& repository) {
  std::lock_guard lock(mu_);
  RepoRow repo = find_repository(repository);
  std::string id = new_upload_id();
  sql::Statement s(*db_,
                   "INSERT INTO uploads(upload_id, repo_id, received, last_part_size, small_part, "
                   "updated_at) VALUES(?,?,0,0,0,?)");
  s.bind(1, id).bind(2, repo.id).bind(3, to_ms(clock_())).run();
  return id;
}

namespace {

// Looks up a live session of `repo_id`; an unknown id, another repository's id
// and an expired session all read as UploadNotFoundException, as in ECR.
UploadRow find_upload(sql::Database& db, std::int64_t repo_id, const std::string& upload_id,
                      const std::string& repository, Timestamp now, std::chrono::seconds expiry) {
  sql::Statement s(db,
                   "SELECT received, last_part_size, small_part, updated_at FROM uploads "
                   "WHERE upload_id = ? AND repo_id = ?");
  s.bind(1, upload_id).bind(2, repo_id);
  if (!s.step() || from_ms(s.integer(3)) + expiry < now) {
    throw api::UploadNotFoundException("The upload with id '" + upload_id +
                                       "' does not exist in the repository '" + repository + "'");
  }
  return {s.integer(0), s.integer(1), s.integer(2) != 0, s.integer(3)};
}

}  // namespace

std::optional<Sha256Lane> Registry::take_upload_hash(const std::string& upload_id,
                                                     std::int64_t first_byte) noexcept {
  if (first_byte < 0 || !is_upload_id(upload_id)) return std::nullopt;
  return upload_hashes_.take_if_at(upload_id, static_cast<std::uint64_t>(first_byte));
}

std::unique_ptr<IncomingPart> Registry::receive_part(const std::string& upload_id,
                                                     std::int64_t first_byte) noexcept {
  try {
    if (first_byte < 0 || first_byte % 4096 != 0 || !is_upload_id(upload_id)) return nullptr;
    // The stripe lock orders this against a part, an append or a completion.
    std::lock_guard part_lock(upload_lock(upload_id));
    {
      std::lock_guard lock(mu_);
      sql::Statement s(*db_, "SELECT received, updated_at FROM uploads WHERE upload_id = ?");
      s.bind(1, upload_id);
      if (!s.step() || s.integer(0) != first_byte ||
          from_ms(s.integer(1)) + settings_.upload_expiry < clock_()) {
        return nullptr;
      }
    }
    UniqueFd file = blobs_.open_upload_direct(upload_id);
    if (!file.valid()) return nullptr;
    std::unique_ptr<IncomingPart> part(
        new IncomingPart(*this, upload_id, first_byte, std::move(file)));
    std::lock_guard appending(appending_mu_);
    if (appending_.contains(upload_id)) return nullptr;
    // A request for a part the client sent again takes the upload over.
    stop_incoming(upload_id, nullptr);
    incoming_.emplace(upload_id, part.get());
    return part;
  } catch (...) {
    return nullptr;
  }
}

void Registry::stop_incoming(const std::string& upload_id, const IncomingPart* keep) noexcept {
  const auto it = incoming_.find(upload_id);
  if (it == incoming_.end() || it->second == keep) return;
  it->second->stop();
  incoming_.erase(it);
}

IncomingPart::~IncomingPart() {
  wait();
  std::lock_guard appending(registry_.appending_mu_);
  const auto it = registry_.incoming_.find(upload_id_);
  // Taken over (or stopped by a completion): the bytes are not this one's.
  if (it == registry_.incoming_.end() || it->second != this) return;
  registry_.incoming_.erase(it);
  // Refused or never handled: the bytes past the upload's end go.
  if (!committed_ && written_ > 0) {
    BlobStore::discard_tail(file_, static_cast<std::uint64_t>(first_byte_));
  }
}

std::size_t IncomingPart::written() noexcept {
  wait();
  return written_;
}

void IncomingPart::wait() noexcept {
  if (in_flight_.valid()) in_flight_.wait();
}

void IncomingPart::stop() noexcept {
  superseded_ = true;
  std::lock_guard writing(write_mu_);  // a write under way ends first
}

void IncomingPart::write_up_to(const char* part, std::size_t ready) noexcept {
  if (in_flight_.valid()) {
    if (in_flight_.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return;
    in_flight_.get();  // the task catches everything
  }
  // Small stretches wait to make a larger write: a slow link delivers a
  // part in reads of a few KiB, and a direct write (and a worker's task)
  // per read cost more CPU than they save.
  if (stopped_ || superseded_ || ready < written_ + kMinWriteBytes) return;
  // Written beside the intake's work on what arrives next: the intake's
  // thread does not wait for the disk.
  const std::string_view bytes(part + written_, ready - written_);
  try {
    in_flight_ = registry_.digest_feeders_.submit([this, bytes] {
      std::lock_guard writing(write_mu_);
      if (superseded_) return;
      try {
        const std::size_t n = registry_.blobs_.write_direct(
            file_, upload_id_, static_cast<std::uint64_t>(first_byte_) + written_, bytes);
        written_ += n;
        if (n < bytes.size()) stopped_ = true;
      } catch (...) {
        stopped_ = true;
      }
    });
  } catch (...) {
    stopped_ = true;
  }
}

std::int64_t Registry::upload_part(const std::string& repository, const std::string& upload_id,
                                   std::int64_t first_byte, std::int64_t last_byte,
                                   std::string_view bytes, std::optional<Sha256Lane> fed_hash,
                                   IncomingPart* incoming) {
  if (incoming && (incoming->upload_id() != upload_id || incoming->first_byte() != first_byte ||
                   incoming->written() > bytes.size())) {
    incoming = nullptr;
  }
  std::lock_guard part_lock(upload_lock(upload_id));
  UploadRow row;
  std::int64_t repo_id = 0;
  {
    std::lock_guard lock(mu_);
    repo_id = find_repository(repository).id;
    row = find_upload(*db_, repo_id, upload_id, repository, clock_(), settings_.upload_expiry);
  }
  auto refuse = [&](const std::string& why) {
    throw api::InvalidLayerPartException(why, {.lastValidByteReceived = row.received - 1,
                                               .registryId = settings_.account_id,
                                               .repositoryName = repository,
                                               .uploadId = upload_id});
  };
  {
    std::lock_guard appending(appending_mu_);
    if (appending_.contains(upload_id)) {
      refuse("A registry API request is writing to the upload with id '" + upload_id + "'");
    }
    // No other request's part is written into the upload from here on; the
    // bytes this one wrote ahead count only while it still has the upload.
    if (incoming) {
      const auto it = incoming_.find(upload_id);
      if (it == incoming_.end() || it->second != incoming) incoming = nullptr;
    }
    stop_incoming(upload_id, incoming);
  }
  auto size = static_cast<std::int64_t>(bytes.size());
  if (size > kMaxPartBytes) {
    refuse("The layer part size " + std::to_string(size) + " exceeds the maximum of " +
           std::to_string(kMaxPartBytes) + " bytes");
  }
  if (first_byte != row.received) {
    refuse("The part's first byte " + std::to_string(first_byte) +
           " does not follow the last byte received " + std::to_string(row.received - 1));
  }
  if (last_byte < first_byte || last_byte - first_byte + 1 != size) {
    refuse("The part range " + std::to_string(first_byte) + "-" + std::to_string(last_byte) +
           " does not match the part size " + std::to_string(size));
  }
  // The bytes are durable before the session says they arrived; a crash in
  // between leaves extra bytes that the next part overwrites. The session row
  // is committed unsynced (part_db_): kill -9 cannot lose it; an OS crash can
  // take it back to an earlier part, and the client resends from there.
  //
  // The layer digest is fed on a second thread while this one writes and
  // syncs the part: hashing takes the CPU, the write mostly waits for the
  // device, so a part costs the longer of the two rather than their sum
  // (parts of one layer are sequential, so this is the big layer's pace).
  // The hash goes back only once the part is durable and recorded; on a
  // failure it is dropped and completion hashes the file instead.
  const std::size_t written = incoming ? incoming->written() : 0;
  std::optional<Sha256Lane> hash = std::move(fed_hash);
  bool hashed = hash.has_value();
  if (hashed) {
    blobs_.finish_part(upload_id, static_cast<std::uint64_t>(first_byte), bytes, written);
  } else {
    hash = upload_hashes_.take_at(upload_id, static_cast<std::uint64_t>(first_byte));
    std::future<void> fed = digest_feeders_.submit([&] {
      if (!hash) return;
      try {
        hash->update(bytes.data(), bytes.size());
        hashed = true;
      } catch (...) {
        // dropped: completion hashes the file
      }
    });
    // The task reads `bytes` and `hash`: waited for on every way out,
    // a failed write included.
    struct WaitForFeed {
      std::future<void>& fed;
      ~WaitForFeed() { fed.wait(); }
    } wait_for_feed{fed};
    blobs_.finish_part(upload_id, static_cast<std::uint64_t>(first_byte), bytes, written);
  }
  std::lock_guard lock(mu_);
  sql::Statement s(*part_db_,
                   "UPDATE uploads SET received = ?, last_part_size = ?, small_part = ?, "
                   "updated_at = ? WHERE upload_id = ?");
  bool small = row.small_part || (row.received > 0 && row.last_part_size < kMinPartBytes);
  s.bind(1, last_byte + 1).bind(2, size).bind(3, std::int64_t{small}).bind(4, to_ms(clock_()));
  s.bind(5, upload_id).run();
  if (part_db_->changes() == 0) {
    throw api::UploadNotFoundException("The upload with id '" + upload_id + "' does not exist");
  }
  if (incoming) incoming->committed_ = true;
  if (hashed) upload_hashes_.put_back(upload_id, std::move(*hash));
  return last_byte;
}

std::string Registry::complete_upload(const std::string& repository, const std::string& upload_id,
                                      const std::vector<std::string>& digests) {
  std::lock_guard part_lock(upload_lock(upload_id));
  UploadRow row;
  std::int64_t repo_id = 0;
  if (digests.empty()) throw api::InvalidParameterException("layerDigests must not be empty");
  if (!Digest::valid(digests.front())) {
    throw api::InvalidLayerException("Invalid layer digest '" + digests.front() + "'");
  }
  Digest expected = Digest::parse(digests.front());
  {
    std::lock_guard lock(mu_);
    repo_id = find_repository(repository).id;
    row = find_upload(*db_, repo_id, upload_id, repository, clock_(), settings_.upload_expiry);
    {
      // A registry API chunk still being written would go on writing into
      // the file once it became the blob (and truncate it if it failed).
      std::lock_guard appending(appending_mu_);
      if (appending_.contains(upload_id)) {
        throw api::InvalidLayerException("A chunk is being written to the upload with id '" +
                                         upload_id + "'; complete it once the chunk is received");
      }
      // Nor may a part still arriving write into the file once it is the
      // blob: it writes nothing more (and its request is refused).
      stop_incoming(upload_id, nullptr);
    }
    if (row.received == 0) {
      throw api::EmptyUploadException("The upload with id '" + upload_id +
                                      "' does not contain any layer parts");
    }
    if (row.small_part) {
      throw api::LayerPartTooSmallException(
          "A layer part other than the last is smaller than the minimum of 5242880 bytes");
    }
    sql::Statement have(*db_, "SELECT 1 FROM repository_blobs WHERE repo_id = ? AND digest = ?");
    have.bind(1, repo_id).bind(2, expected.str());
    if (have.step()) {
      sql::Statement d(*db_, "DELETE FROM uploads WHERE upload_id = ?");
      d.bind(1, upload_id).run();
      blobs_.remove_upload(upload_id);
      upload_hashes_.forget(upload_id);
      throw api::LayerAlreadyExistsException(
          "The layer '" + expected.str() + "' already exists in the repository with name '" +
          repository + "' in registry with id '" + settings_.account_id + "'");
    }
  }
  auto size = static_cast<std::uint64_t>(row.received);
  std::shared_lock sweep(blob_sweep_mu_);
  auto actual =
      blobs_.commit_upload(upload_id, size, expected, upload_hashes_.take(upload_id, size));
  std::lock_guard lock(mu_);
  if (actual) {
    throw api::InvalidLayerException("The calculated digest '" + actual->str() +
                                     "' does not match the layer digest '" + expected.str() + "'");
  }
  sql::Transaction tx(*db_);
  sql::Statement add(
      *db_,
      "INSERT OR IGNORE INTO repository_blobs(repo_id, digest, size, added_at) VALUES(?,?,?,?)");
  add.bind(1, repo_id).bind(2, expected.str()).bind(3, row.received).bind(4, to_ms(clock_())).run();
  sql::Statement d(*db_, "DELETE FROM uploads WHERE upload_id = ?");
  d.bind(1, upload_id).run();
  tx.commit();
  return expected.str();
}

std::vector<LayerAvailability> Registry::check_layers(const std::string& repository,
                                                      const std::vector<std::string>& digests,
                                                      std::vector<LayerFailure>& failures) {
  std::lock_guard lock(mu_);
  RepoRow repo = find_repository(repository);
  std::vector<LayerAvailability> out;
  // Available layers no image references yet (a push that uploaded them
  // and has not put its image): they count as new again, so the garbage
  // collection does not drop them between this answer and that PutImage.
  std::vector<std::string> renew;
  for (const auto& digest : digests) {
    if (digest.empty()) {
      failures.push_back({digest, "MissingLayerDigest", "The layer digest is missing"});
      continue;
    }
    if (!Digest::valid(digest)) {
      failures.push_back({digest, "InvalidLayerDigest", "Invalid layer digest"});
      continue;
    }
    sql::Statement s(*db_,
                     "SELECT size, media_type, EXISTS(SELECT 1 FROM image_blobs WHERE repo_id = ? "
                     "AND blob_digest = ?) FROM repository_blobs WHERE repo_id = ? AND digest = ?");
    s.bind(1, repo.id).bind(2, digest).bind(3, repo.id).bind(4, digest);
    LayerAvailability a{digest, false, std::nullopt, std::nullopt, false};
    if (s.step()) {
      a.size = s.integer(0);
      a.media_type = s.optional_text(1);
      if (s.integer(2) == 0) {
        renew.push_back(digest);
      } else {
        // Referenced only by archived (or restoring) images: ARCHIVED.
        sql::Statement active(*db_,
                              "SELECT 1 FROM image_blobs b JOIN images i ON i.repo_id = b.repo_id "
                              "AND i.digest = b.image_digest WHERE b.repo_id = ? AND "
                              "b.blob_digest = ? AND i.storage_class = 'STANDARD' AND "
                              "(i.activated_at IS NULL OR i.activated_at <= ?) LIMIT 1");
        active.bind(1, repo.id).bind(2, digest).bind(3, to_ms(clock_()));
        a.archived = !active.step();
      }
      a.available = !a.archived;
    }
    out.push_back(std::move(a));
  }
  if (!renew.empty()) {
    sql::Transaction tx(*db_);
    for (const auto& digest : renew) {
      sql::Statement touch(
          *db_, "UPDATE repository_blobs SET added_at = ? WHERE repo_id = ? AND digest = ?");
      touch.bind(1, to_ms(clock_())).bind(2, repo.id).bind(3, digest).run();
    }
    tx.commit();
  }
  return out;
}

std::int64_t Registry::downloadable_layer(const std::string& repository,
                                          const std::string& digest) {
  std::lock_guard lock(mu_);
  RepoRow repo = find_repository(repository);
  sql::Statement s(*db_, "SELECT size FROM repository_blobs WHERE repo_id = ? AND digest = ?");
  s.bind(1, repo.id).bind(2, digest);
  if (!s.step()) {
    throw api::LayersNotFoundException("The image with the layer digest '" + digest +
                                       "' does not exist in the repository with name '" +
                                       repository + "'");
  }
  std::int64_t size = s.integer(0);
  sql::Statement used(*db_,
                      "SELECT 1 FROM image_blobs WHERE repo_id = ? AND blob_digest = ? LIMIT 1");
  used.bind(1, repo.id).bind(2, digest);
  if (!used.step()) {
    throw api::LayerInaccessibleException("The layer '" + digest +
                                          "' is not referenced by any image in the repository '" +
                                          repository + "'");
  }
  // A download is a pull of the images that reference the layer and can
  // be pulled; a layer only archived images reference cannot be.
  sql::Statement active(*db_,
                        "SELECT i.digest FROM image_blobs b JOIN images i ON i.repo_id = b.repo_id "
                        "AND i.digest = b.image_digest WHERE b.repo_id = ? AND b.blob_digest = ? "
                        "AND i.storage_class = 'STANDARD' AND "
                        "(i.activated_at IS NULL OR i.activated_at <= ?)");
  active.bind(1, repo.id).bind(2, digest).bind(3, to_ms(clock_()));
  std::vector<std::string> pulled;
  while (active.step()) pulled.push_back(active.text(0));
  if (pulled.empty()) {
    throw api::LayerInaccessibleException(
        "The layer '" + digest + "' is referenced only by archived images in the repository '" +
        repository + "'; restore one of them with UpdateImageStorageClass to download it");
  }
  record_pulls(repo.id, pulled);
  return size;
}

std::int64_t Registry::upload_size(const std::string& repository, const std::string& upload_id) {
  std::lock_guard lock(mu_);
  const std::int64_t repo_id = find_repository(repository).id;
  return find_upload(*db_, repo_id, upload_id, repository, clock_(), settings_.upload_expiry)
      .received;
}

std::unique_ptr<UploadAppend> Registry::append_to_upload(const std::string& repository,
                                                         const std::string& upload_id) {
  // The stripe lock orders this against a part of the ECR door in flight;
  // once marked, parts are refused until the append ends.
  std::lock_guard part_lock(upload_lock(upload_id));
  const std::int64_t received = upload_size(repository, upload_id);
  {
    std::lock_guard appending(appending_mu_);
    if (!appending_.insert(upload_id).second) {
      throw api::InvalidLayerPartException(
          "Another request is writing to the upload with id '" + upload_id + "'",
          {.lastValidByteReceived = received - 1,
           .registryId = settings_.account_id,
           .repositoryName = repository,
           .uploadId = upload_id});
    }
    stop_incoming(upload_id, nullptr);  // the append has the upload now
  }
  return std::unique_ptr<UploadAppend>(new UploadAppend(*this, repository, upload_id, received));
}

UploadAppend::UploadAppend(Registry& registry, std::string repository, std::string upload_id,
                           std::int64_t first_byte)
    : registry_(registry),
      repository_(std::move(repository)),
      upload_id_(std::move(upload_id)),
      first_byte_(first_byte) {}

UploadAppend::~UploadAppend() {
  // A chunk that failed half-way (a full disk, a dropped connection) leaves
  // the session as it was: its bytes go, and with them their blocks.
  if (!committed_ && file_.valid())
    BlobStore::discard_tail(file_, static_cast<std::uint64_t>(first_byte_));
  std::lock_guard appending(registry_.appending_mu_);
  registry_.appending_.erase(upload_id_);
}

void UploadAppend::write(std::string_view piece) {
  if (piece.empty()) return;
  if (!file_.valid()) {
    file_ = registry_.blobs_.open_upload(upload_id_);
    hash_ = registry_.upload_hashes_.take_at(upload_id_, static_cast<std::uint64_t>(first_byte_));
  }
  registry_.blobs_.write_upload(file_, upload_id_,
                                static_cast<std::uint64_t>(first_byte_ + written_), piece);
  written_ += static_cast<std::int64_t>(piece.size());
  if (hash_) hash_->update(piece.data(), piece.size());
}

std::int64_t UploadAppend::commit() {
  const std::int64_t size = first_byte_ + written_;
  if (file_.valid())
    registry_.blobs_.sync_upload(file_, upload_id_, static_cast<std::uint64_t>(size));
  std::lock_guard lock(registry_.mu_);
  sql::Statement s(*registry_.part_db_,
                   "UPDATE uploads SET received = ?, last_part_size = ?, updated_at = ? "
                   "WHERE upload_id = ?");
  s.bind(1, size).bind(2, written_).bind(3, to_ms(registry_.clock_())).bind(4, upload_id_).run();
  if (registry_.part_db_->changes() == 0) {
    throw api::UploadNotFoundException("The upload with id '" + upload_id_ +
                                       "' does not exist in the repository '" + repository_ + "'");
  }
  committed_ = true;
  if (hash_) {
    registry_.upload_hashes_.put_back(upload_id_, std::move(*hash_));
    hash_.reset();
  }
  return size;
}

void Registry::cancel_upload(const std::string& repository, const std::string& upload_id) {
  std::lock_guard part_lock(upload_lock(upload_id));
  {
    std::lock_guard lock(mu_);
    const std::int64_t repo_id = find_repository(repository).id;
    find_upload(*db_, repo_id, upload_id, repository, clock_(), settings_.upload_expiry);
    sql::Statement d(*db_, "DELETE FROM uploads WHERE upload_id = ?");
    d.bind(1, upload_id).run();
  }
  blobs_.remove_upload(upload_id);
  upload_hashes_.forget(upload_id);
}

std::optional<std::int64_t> Registry::layer_size(const std::string& repository,
                                                 const std::string& digest) {
  std::lock_guard lock(mu_);
  RepoRow repo = find_repository(repository);
  sql::Statement s(*db_, "SELECT size FROM repository_blobs WHERE repo_id = ? AND digest = ?");
  s.bind(1, repo.id).bind(2, digest);
  if (!s.step()) return std::nullopt;
  return s.integer(0);
}

bool Registry::mount_layer(const std::string& repository, const std::string& from,
                           const std::string& digest) {
  std::lock_guard lock(mu_);
  RepoRow target = find_repository(repository);
  std::int64_t source_id = 0;
  try {
    source_id = find_repository(from).id;
  } catch (const api::RepositoryNotFoundException&) {
    return false;  // an ordinary upload then, as ECR answers
  }
  // Only a layer `from` can serve to a pull: an image there that is not
  // archived (nor being restored) references it.
  sql::Statement s(*db_,
                   "SELECT b.size, b.media_type FROM repository_blobs b WHERE b.repo_id = ? AND "
                   "b.digest = ? AND EXISTS(SELECT 1 FROM image_blobs r JOIN images i ON "
                   "i.repo_id = r.repo_id AND i.digest = r.image_digest WHERE r.repo_id = ? AND "
                   "r.blob_digest = ? AND i.storage_class = 'STANDARD' AND "
                   "(i.activated_at IS NULL OR i.activated_at <= ?))");
  s.bind(1, source_id).bind(2, digest).bind(3, source_id).bind(4, digest);
  s.bind(5, to_ms(clock_()));
  if (!s.step()) return false;
  sql::Statement add(*db_,
                     "INSERT OR IGNORE INTO repository_blobs(repo_id, digest, size, media_type, "
                     "added_at) VALUES(?,?,?,?,?)");
  add.bind(1, target.id).bind(2, digest).bind(3, s.integer(0)).bind(4, s.optional_text(1));
  add.bind(5, to_ms(clock_())).run();
  return true;
}

std::size_t Registry::expire_uploads() {
  std::vector<std::string> expired;
  {
    std::lock_guard lock(mu_);
    sql::Transaction tx(*db_);
    std::int64_t cutoff = to_ms(clock_() - settings_.upload_expiry);
    sql::Statement s(*db_, "SELECT upload_id FROM uploads WHERE updated_at < ?");
    s.bind(1, cutoff);
    while (s.step()) expired.push_back(s.text(0));
    sql::Statement d(*db_, "DELETE FROM uploads WHERE updated_at < ?");
    d.bind(1, cutoff).run();
    tx.commit();
  }
  for (const auto& id : expired) {
    blobs_.remove_upload(id);
    upload_hashes_.forget(id);
  }
  return expired.size();
}

}  // namespace ecr::server
