// ecr-local check (registry_check.hpp): a root damaged on purpose, one way
// at a time, and the one finding each damage gives.
#include "server/registry_check.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "ecr/error.hpp"
#include "ecr/manifest.hpp"
#include "server/registry.hpp"

namespace ecr::server {
namespace {

namespace fs = std::filesystem;
using FindingKind = CheckFinding::Kind;

const std::string kConfig =
    R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}})";
const std::string kLayer = "layer bytes, not a real tar";

class RegistryCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("ecr-registry-check-test-" + std::to_string(std::random_device{}()));
    Registry registry(root_, RegistrySettings{});
    RepositoryInfo info;
    info.name = "app";
    registry.create_repository(info, {});
    const Descriptor config{.media_type = "application/vnd.oci.image.config.v1+json",
                            .digest = Digest::parse(upload(registry, kConfig)),
                            .size = static_cast<std::int64_t>(kConfig.size())};
    const Descriptor layer{.media_type = "application/vnd.oci.image.layer.v1.tar",
                           .digest = Digest::parse(upload(registry, kLayer)),
                           .size = static_cast<std::int64_t>(kLayer.size())};
    manifest_ = serialize_oci_manifest(config, {layer});
    image_ = registry
                 .put_image("app", manifest_, facts_of(parse_manifest(manifest_, "")), "v1",
                            std::nullopt)
                 .digest;
    // An upload in progress: one part received.
    upload_id_ = registry.initiate_upload("app");
    registry.upload_part("app", upload_id_, 0, 2, "abc");
  }
  void TearDown() override { fs::remove_all(root_); }

  static std::string upload(Registry& registry, const std::string& bytes) {
    const std::string id = registry.initiate_upload("app");
    registry.upload_part("app", id, 0, static_cast<std::int64_t>(bytes.size()) - 1, bytes);
    return registry.complete_upload("app", id, {Digest::of(bytes).str()});
  }
  fs::path blob(const std::string& bytes) const {
    return root_ / "blobs" / "sha256" / std::string(Digest::of(bytes).hex());
  }
  void sql(const std::string& text) const {
    sql::Database db((root_ / "metadata.db").string());
    db.exec(text);
  }
  // The one finding the check reports.
  CheckFinding only_finding() const {
    const CheckReport report = check_root(root_);
    EXPECT_EQ(report.findings.size(), 1u);
    if (report.findings.empty()) return {FindingKind::kUnknown, "(none)"};
    return report.findings.front();
  }

  fs::path root_;
  std::string manifest_, image_, upload_id_;
};

TEST_F(RegistryCheckTest, AnIntactRootIsConsistent) {
  const CheckReport report = check_root(root_);
  EXPECT_TRUE(report.findings.empty());
  EXPECT_EQ(report.problems(), 0u);
  EXPECT_EQ(check_summary(report), "checked 2 blobs, 1 image, 1 upload session: consistent");
}

TEST_F(RegistryCheckTest, AFlippedByteIsADamagedBlob) {
  {
    std::fstream f(blob(kLayer), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(3);
    f.put('X');
  }
  std::string damaged = kLayer;
  damaged[3] = 'X';
  const CheckFinding finding = only_finding();
  EXPECT_EQ(finding.kind, FindingKind::kDamaged);
  EXPECT_EQ(to_string(finding), "damaged: blob " + Digest::of(kLayer).str() + ": its " +
                                    std::to_string(kLayer.size()) + " bytes hash to " +
                                    Digest::of(damaged).str());
  EXPECT_EQ(check_summary(check_root(root_)),
            "checked 2 blobs, 1 image, 1 upload session: 1 problem (1 damaged)");
}

TEST_F(RegistryCheckTest, ADeletedBlobIsMissing) {
  fs::remove(blob(kLayer));
  EXPECT_EQ(to_string(only_finding()),
            "missing: blob " + Digest::of(kLayer).str() +
                ": a layer of repository app, without its file blobs/sha256/" +
                std::string(Digest::of(kLayer).hex()));
}

TEST_F(RegistryCheckTest, ABlobOfAnotherSizeThanRecordedIsDamaged) {
  sql("UPDATE repository_blobs SET size = 5 WHERE digest = '" + Digest::of(kConfig).str() + "'");
  EXPECT_EQ(to_string(only_finding()), "damaged: blob " + Digest::of(kConfig).str() + ": " +
                                           std::to_string(kConfig.size()) +
                                           " bytes on disk, repository app recorded 5");
}

TEST_F(RegistryCheckTest, ATempFileIsALeftoverAndStays) {
  const fs::path temp = root_ / "blobs" / "sha256" / "abc.tmp-123";
  std::ofstream(temp) << "partial";
  const CheckReport report = check_root(root_);
  ASSERT_EQ(report.findings.size(), 1u);
  EXPECT_EQ(to_string(report.findings[0]),
            "leftover: temp file blobs/sha256/abc.tmp-123 (the next start removes it)");
  EXPECT_EQ(report.problems(), 0u);
  EXPECT_EQ(check_summary(report),
            "checked 2 blobs, 1 image, 1 upload session: consistent; 1 leftover, removed by the "
            "next start or gc");
  EXPECT_TRUE(fs::exists(temp));  // the check changes nothing
}

TEST_F(RegistryCheckTest, AnUploadFileWithoutASessionIsALeftover) {
  const std::string orphan = "0f0f0f0f-0000-4000-8000-000000000000";
  std::ofstream(root_ / "uploads" / orphan) << "partial";
  const CheckFinding finding = only_finding();
  EXPECT_EQ(finding.kind, FindingKind::kLeftover);
  EXPECT_EQ(finding.text,
            "upload file uploads/" + orphan + " without a session (the next start removes it)");
  EXPECT_TRUE(fs::exists(root_ / "uploads" / orphan));
}

TEST_F(RegistryCheckTest, ABlobNoRepositoryHoldsIsALeftover) {
  const std::string stray = "committed, never recorded";
  std::ofstream(blob(stray)) << stray;
  EXPECT_EQ(to_string(only_finding()), "leftover: blob " + Digest::of(stray).str() + " (" +
                                           std::to_string(stray.size()) +
                                           " bytes) that no repository holds (gc removes it)");
}

TEST_F(RegistryCheckTest, AnUploadSessionWithoutItsBytesIsMissing) {
  fs::remove(root_ / "uploads" / upload_id_);
  EXPECT_EQ(to_string(only_finding()), "missing: upload file uploads/" + upload_id_ +
                                           ": the session (repository app) has received 3 bytes");
}

TEST_F(RegistryCheckTest, AnUploadFileShorterThanAcknowledgedIsDamaged) {
  fs::resize_file(root_ / "uploads" / upload_id_, 1);
  EXPECT_EQ(to_string(only_finding()),
            "damaged: upload file uploads/" + upload_id_ +
                ": 1 bytes, the session (repository app) has received 3 bytes");
}

TEST_F(RegistryCheckTest, AnImageNamingALayerItsRepositoryLacksIsMissing) {
  sql("DELETE FROM repository_blobs WHERE digest = '" + Digest::of(kLayer).str() + "'");
  const CheckReport report = check_root(root_);
  ASSERT_EQ(report.findings.size(), 2u);
  EXPECT_EQ(to_string(report.findings[0]), "missing: blob " + Digest::of(kLayer).str() +
                                               ": image app@" + image_ +
                                               " names it, its repository does not hold it");
  // Its file is then held by no repository.
  EXPECT_EQ(report.findings[1].kind, FindingKind::kLeftover);
  EXPECT_EQ(report.problems(), 1u);
}

TEST_F(RegistryCheckTest, AnUnrecordedReferenceIsInvalid) {
  sql("DELETE FROM image_blobs WHERE blob_digest = '" + Digest::of(kConfig).str() + "'");
  EXPECT_EQ(to_string(only_finding()), "invalid: image app@" + image_ + ": names blob " +
                                           Digest::of(kConfig).str() +
                                           " without recording it (gc would drop the layer)");
}

TEST_F(RegistryCheckTest, AManifestThatNoLongerHashesToItsDigestIsInvalid) {
  const std::string changed = manifest_ + " ";
  {
    sql::Database db((root_ / "metadata.db").string());
    sql::Statement s(db, "UPDATE images SET manifest = ?");
    s.bind_blob(1, changed).run();
  }
  EXPECT_EQ(to_string(only_finding()), "invalid: image app@" + image_ +
                                           ": its manifest hashes to " + Digest::of(changed).str());
}

TEST_F(RegistryCheckTest, AnIndexNamingAMissingChildIsMissing) {
  const std::string child = Digest::of("no such manifest").str();
  const std::string index = serialize_oci_index(
      {Descriptor{.media_type = "application/vnd.oci.image.manifest.v1+json",
                  .digest = Digest::parse(child),
                  .size = 10,
                  .platform = Platform{.os = "linux", .architecture = "amd64"}}});
  {
    sql::Database db((root_ / "metadata.db").string());
    sql::Statement s(db,
                     "INSERT INTO images(repo_id, digest, manifest, media_type, pushed_at, size) "
                     "VALUES(1, ?, ?, 'application/vnd.oci.image.index.v1+json', 0, 0)");
    s.bind(1, Digest::of(index).str()).bind_blob(2, index).run();
  }
  EXPECT_EQ(to_string(only_finding()),
            "missing: image app@" + child + ": image app@" + Digest::of(index).str() + " names it");
}

TEST_F(RegistryCheckTest, AFileThatIsNoBlobIsUnknown) {
  std::ofstream(root_ / "blobs" / "sha256" / "README") << "hello";
  EXPECT_EQ(to_string(only_finding()), "unknown: blobs/sha256/README: not a blob ecr-local wrote");
}

TEST(RegistryCheck, ADirectoryWithoutMetadataIsNotARoot) {
  const fs::path empty = fs::temp_directory_path() / "ecr-registry-check-empty";
  fs::create_directories(empty);
  EXPECT_THROW(check_root(empty), InputError);
  EXPECT_FALSE(fs::exists(empty / "metadata.db"));
  fs::remove_all(empty);
}

}  // namespace
}  // namespace ecr::server
