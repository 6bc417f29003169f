// Registry and BlobStore rules that the boto3 suite cannot reach directly:
// exact resume points, upload expiry with a fake clock, sweeping after a crash,
// the running layer digest and its fallback to hashing the upload file.
#include "server/registry.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

namespace ecr::server {
namespace {

namespace fs = std::filesystem;

RepositoryInfo app() {
  RepositoryInfo info;
  info.name = "app";
  return info;
}

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ =
        fs::temp_directory_path() / ("ecr-registry-test-" + std::to_string(std::random_device{}()));
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  std::unique_ptr<Registry> open() {
    RegistrySettings settings;
    settings.upload_expiry = std::chrono::hours(1);
    return std::make_unique<Registry>(root_, settings, [this] { return now_; });
  }
  fs::path root_;
  Timestamp now_ = Timestamp(std::chrono::milliseconds(1'700'000'000'000));
};

TEST_F(RegistryTest, UploadResumesFromLastValidByte) {
  auto registry = open();
  registry->create_repository(app(), {});
  std::string id = registry->initiate_upload("app");
  EXPECT_EQ(registry->upload_part("app", id, 0, 2, "abc"), 2);
  try {
    registry->upload_part("app", id, 5, 5, "x");
    FAIL() << "a gap was accepted";
  } catch (const api::InvalidLayerPartException& e) {
    EXPECT_EQ(e.lastValidByteReceived(), 2);
    EXPECT_EQ(e.registryId(), "000000000000");
    EXPECT_EQ(e.repositoryName(), "app");
    EXPECT_EQ(e.uploadId(), id);
  }
  EXPECT_EQ(registry->upload_part("app", id, 3, 4, "de"), 4);
  std::ifstream received(root_ / "uploads" / id);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(received), {}), "abcde");
}

// A registry API chunk being written keeps its session from being
// completed: the append would write into (or truncate) the file once it had
// become the blob.
TEST_F(RegistryTest, AnUploadIsNotCompletedWhileAChunkIsWritten) {
  auto registry = open();
  registry->create_repository(app(), {});
  const std::string id = registry->initiate_upload("app");
  const std::string data = "chunk bytes";
  const std::string digest = Digest::of(data).str();
  {
    auto append = registry->append_to_upload("app", id);
    append->write(data);
    EXPECT_THROW(registry->complete_upload("app", id, {digest}), api::InvalidLayerException);
    EXPECT_EQ(append->commit(), static_cast<std::int64_t>(data.size()));
  }
  EXPECT_EQ(registry->complete_upload("app", id, {digest}), digest);
}

TEST_F(RegistryTest, IdleUploadsExpireWithTheirBytes) {
  auto registry = open();
  registry->create_repository(app(), {});
  std::string id = registry->initiate_upload("app");
  registry->upload_part("app", id, 0, 2, "abc");
  ASSERT_TRUE(fs::exists(root_ / "uploads" / id));
  now_ += std::chrono::hours(2);
  EXPECT_EQ(registry->expire_uploads(), 1u);
  EXPECT_FALSE(fs::exists(root_ / "uploads" / id));
  try {
    registry->upload_part("app", id, 3, 3, "d");
    FAIL() << "an expired upload took a part";
  } catch (const ServiceError& e) {
    EXPECT_EQ(e.name(), "UploadNotFoundException");
  }
}

TEST_F(RegistryTest, RestartSweepsUploadFilesWithoutASession) {
  open();
  fs::path orphan = root_ / "uploads" / "0f0f0f0f-0000-4000-8000-000000000000";
  std::ofstream(orphan) << "partial";
  fs::path temp = root_ / "blobs" / "sha256" / "abc.tmp123-0";
  std::ofstream(temp) << "partial";
  open();
  EXPECT_FALSE(fs::exists(orphan));
  EXPECT_FALSE(fs::exists(temp));
}

TEST_F(RegistryTest, DigestMismatchLeavesNoBlob) {
  auto registry = open();
  registry->create_repository(app(), {});
  std::string id = registry->initiate_upload("app");
  registry->upload_part("app", id, 0, 2, "abc");
  try {
    registry->complete_upload("app", id, {Digest::of("abd").str()});
    FAIL() << "a wrong digest was accepted";
  } catch (const ServiceError& e) {
    EXPECT_EQ(e.name(), "InvalidLayerException");
  }
  EXPECT_FALSE(registry->blobs().contains(Digest::of("abd")));
  EXPECT_FALSE(registry->blobs().contains(Digest::of("abc")));
}

// Every part but the last must be at least 5 MiB (LayerPartTooSmallException).
const std::string& first_part() {
  static const std::string part(5 * 1024 * 1024, 'a');
  return part;
}

TEST_F(RegistryTest, CompletionUsesTheDigestHashedAsPartsArrived) {
  const std::string& first = first_part();
  const auto end = static_cast<std::int64_t>(first.size());
  auto registry = open();
  registry->create_repository(app(), {});
  std::string id = registry->initiate_upload("app");
  registry->upload_part("app", id, 0, end - 1, first);
  EXPECT_THROW(registry->upload_part("app", id, end + 2, end + 2, "x"),
               api::InvalidLayerPartException);
  registry->upload_part("app", id, end, end + 1, "de");
  ASSERT_EQ(registry->upload_hashes().size(), 1u);
  const Digest whole = Digest::of(first + "de");
  try {
    registry->complete_upload("app", id, {Digest::of(first + "dx").str()});
    FAIL() << "a wrong digest was accepted";
  } catch (const ServiceError& e) {
    EXPECT_EQ(e.name(), "InvalidLayerException");
    EXPECT_NE(std::string(e.what()).find(whole.str()), std::string::npos) << e.what();
  }
  EXPECT_EQ(registry->complete_upload("app", id, {whole.str()}), whole.str());
  EXPECT_EQ(registry->upload_hashes().size(), 0u);
  std::ifstream blob(registry->blobs().blob_path(whole));
  EXPECT_TRUE(std::string(std::istreambuf_iterator<char>(blob), {}) == first + "de");
}

TEST_F(RegistryTest, AfterARestartCompletionHashesTheUploadFile) {
  const std::string& first = first_part();
  const auto end = static_cast<std::int64_t>(first.size());
  std::string id;
  {
    auto registry = open();
    registry->create_repository(app(), {});
    id = registry->initiate_upload("app");
    registry->upload_part("app", id, 0, end - 1, first);
  }
  auto registry = open();
  registry->upload_part("app", id, end, end + 1, "de");
  EXPECT_EQ(registry->upload_hashes().size(), 0u);
  try {
    registry->complete_upload("app", id, {Digest::of("de").str()});
    FAIL() << "the digest of the last part alone was accepted";
  } catch (const ServiceError& e) {
    EXPECT_EQ(e.name(), "InvalidLayerException");
  }
  const Digest whole = Digest::of(first + "de");
  EXPECT_EQ(registry->complete_upload("app", id, {whole.str()}), whole.str());
  EXPECT_TRUE(registry->blobs().contains(whole));
}

// Garbage collection: layers no image references go after the retention
// (measured from their upload or the last availability check that reported
// them), and their files once no repository has them.
class GarbageTest : public RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    reopen();
  }
  void reopen() {
    registry_.reset();
    RegistrySettings settings;
    settings.blob_retention = std::chrono::hours(1);
    registry_ = std::make_unique<Registry>(root_, settings, [this] { return now_; });
  }
  void make_repository(const std::string& name) {
    RepositoryInfo info;
    info.name = name;
    registry_->create_repository(info, {});
  }
  // Uploads `bytes` as one layer of `repo`; returns its digest.
  std::string upload(const std::string& repo, const std::string& bytes) {
    const std::string id = registry_->initiate_upload(repo);
    registry_->upload_part(repo, id, 0, static_cast<std::int64_t>(bytes.size()) - 1, bytes);
    return registry_->complete_upload(repo, id, {Digest::of(bytes).str()});
  }
  // Puts an image of `repo` made of `blobs` (config first) under `tag`.
  std::string put_image(const std::string& repo, const std::vector<std::string>& blobs,
                        const std::string& tag) {
    ManifestFacts facts;
    facts.media_type = "application/vnd.oci.image.manifest.v1+json";
    std::string manifest = R"({"schemaVersion":2,"tag":")" + tag + "\"";
    for (const auto& b : blobs) {
      facts.blobs.push_back({b, 3, "application/octet-stream"});
      manifest += ",\"" + b + "\":1";
    }
    manifest += "}";
    return registry_->put_image(repo, manifest, facts, tag, std::nullopt).digest;
  }
  bool has_file(const std::string& digest) {
    return registry_->blobs().contains(Digest::parse(digest));
  }
  bool available(const std::string& repo, const std::string& digest) {
    std::vector<LayerFailure> failures;
    return registry_->check_layers(repo, {digest}, failures).at(0).available;
  }
  std::unique_ptr<Registry> registry_;
};

TEST_F(GarbageTest, LayersOfDeletedImagesGoAfterTheRetentionWithTheirFiles) {
  make_repository("app");
  const std::string config = upload("app", "cfg"), layer = upload("app", "lay");
  const std::string image = put_image("app", {config, layer}, "v1");
  now_ += std::chrono::hours(2);
  // Referenced by an image: nothing goes, however old.
  GarbageCollected gc = registry_->collect_garbage();
  EXPECT_EQ(gc.layers, 0u);
  EXPECT_EQ(gc.blobs, 0u);
  std::vector<ImageFailure> failures;
  registry_->delete_images("app", {ImageRef{.digest = image, .tag = std::nullopt}}, failures);
  ASSERT_TRUE(failures.empty());
  gc = registry_->collect_garbage();
  EXPECT_EQ(gc.layers, 2u);
  EXPECT_EQ(gc.blobs, 2u);
  EXPECT_EQ(gc.bytes, 6u);
  EXPECT_FALSE(has_file(config));
  EXPECT_FALSE(has_file(layer));
  EXPECT_FALSE(available("app", layer));
  EXPECT_EQ(garbage_summary(gc), "dropped 2 unreferenced layers, removed 2 blobs (6 bytes)");
}

TEST_F(GarbageTest, ANewLayerWaitsForItsImageUntilTheRetentionEnds) {
  make_repository("app");
  const std::string layer = upload("app", "new");
  now_ += std::chrono::minutes(59);
  EXPECT_EQ(registry_->collect_garbage().layers, 0u);
  EXPECT_TRUE(has_file(layer));
  // Reported available: it counts as new again (the push will put its image).
  EXPECT_TRUE(available("app", layer));
  now_ += std::chrono::minutes(59);
  EXPECT_EQ(registry_->collect_garbage().layers, 0u);
  EXPECT_TRUE(available("app", layer));
  now_ += std::chrono::minutes(61);
  const GarbageCollected gc = registry_->collect_garbage();
  EXPECT_EQ(gc.layers, 1u);
  EXPECT_EQ(gc.blobs, 1u);
  EXPECT_FALSE(available("app", layer));
  EXPECT_FALSE(has_file(layer));
}

TEST_F(GarbageTest, AFileStaysWhileAnotherRepositoryHasTheLayer) {
  make_repository("app");
  make_repository("other");
  const std::string shared = upload("app", "abc");
  upload("other", "abc");  // the same blob, uploaded to the other repository
  put_image("other", {shared}, "v1");
  now_ += std::chrono::hours(2);
  const GarbageCollected gc = registry_->collect_garbage();
  EXPECT_EQ(gc.layers, 1u);  // app's record
  EXPECT_EQ(gc.blobs, 0u);
  EXPECT_TRUE(has_file(shared));
  EXPECT_FALSE(available("app", shared));
  EXPECT_TRUE(available("other", shared));
}

TEST_F(GarbageTest, ADeletedRepositorysBlobsGoAndTempFilesStay) {
  make_repository("app");
  const std::string layer = upload("app", "xyz");
  registry_->delete_repository("app", true);
  const fs::path temp = root_ / "blobs" / "sha256" / "abc.tmp123-0";
  std::ofstream(temp) << "partial";
  const GarbageCollected gc = registry_->collect_garbage();
  EXPECT_EQ(gc.layers, 0u);  // the repository's records went with it
  EXPECT_EQ(gc.blobs, 1u);
  EXPECT_FALSE(has_file(layer));
  EXPECT_TRUE(fs::exists(temp));
}

TEST_F(GarbageTest, ADatabaseWithoutLayerTimestampsGetsThemAtOpen) {
  make_repository("app");
  const std::string layer = upload("app", "old");
  registry_.reset();
  {
    // The table as it was before garbage collection: no added_at.
    sql::Database db((root_ / "metadata.db").string());
    db.exec(
        "CREATE TABLE rb_old AS SELECT repo_id, digest, size, media_type FROM repository_blobs;"
        "DROP TABLE repository_blobs;"
        "CREATE TABLE repository_blobs(repo_id INTEGER NOT NULL REFERENCES repositories(id) "
        "ON DELETE CASCADE, digest TEXT NOT NULL, size INTEGER NOT NULL, media_type TEXT, "
        "PRIMARY KEY(repo_id, digest));"
        "INSERT INTO repository_blobs SELECT * FROM rb_old; DROP TABLE rb_old;");
  }
  now_ += std::chrono::hours(5);
  reopen();
  // Counted as uploaded at the migration, so it stays for the retention.
  EXPECT_EQ(registry_->collect_garbage().layers, 0u);
  EXPECT_TRUE(available("app", layer));
  now_ += std::chrono::hours(2);
  EXPECT_EQ(registry_->collect_garbage().layers, 1u);
}

TEST(UploadHashes, CoverTheBytesFromZeroInOrder) {
  UploadHashes hashes;
  hashes.add("u", 0, "abc");
  hashes.add("u", 3, "de");
  EXPECT_EQ(hashes.take("u", 5), Digest::of("abcde"));
  EXPECT_EQ(hashes.size(), 0u);
}

TEST(UploadHashes, APartNotWhereTheHashStopsDropsIt) {
  UploadHashes hashes;
  hashes.add("u", 0, "abc");
  hashes.add("u", 2, "Xde");  // rewrites byte 2: the hash no longer matches the file
  EXPECT_EQ(hashes.size(), 0u);
  EXPECT_EQ(hashes.take("u", 5), std::nullopt);
}

TEST(UploadHashes, ARewriteFromZeroStartsOver) {
  UploadHashes hashes;
  hashes.add("u", 0, "abc");
  hashes.add("u", 0, "xy");
  EXPECT_EQ(hashes.take("u", 2), Digest::of("xy"));
}

TEST(UploadHashes, TakeOfAnotherLengthGivesNothing) {
  UploadHashes hashes;
  hashes.add("u", 0, "abc");
  EXPECT_EQ(hashes.take("u", 4), std::nullopt);
  EXPECT_EQ(hashes.take("u", 3), std::nullopt);  // taken: the file is hashed instead
}

}  // namespace
}  // namespace ecr::server
