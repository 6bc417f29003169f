// The archive storage class on the Registry with a fake clock: archived
// images refuse pulls, restores take the configured delay, pushes restore at
// once, pull times are recorded at most once a minute, lifecycle policies
// archive and expire by pull and archive times, and older roots open.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "server/registry.hpp"

namespace ecr::server {
namespace {

namespace fs = std::filesystem;
using std::chrono::days;
using std::chrono::minutes;
using std::chrono::seconds;

class ArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ =
        fs::temp_directory_path() / ("ecr-archive-test-" + std::to_string(std::random_device{}()));
    fs::create_directories(root_);
    reopen();
    RepositoryInfo info;
    info.name = "app";
    registry_->create_repository(info, {});
  }
  void TearDown() override {
    registry_.reset();
    fs::remove_all(root_);
  }
  void reopen(seconds restore_delay = seconds(0)) {
    registry_.reset();
    RegistrySettings settings;
    settings.archive_restore_delay = restore_delay;
    registry_ = std::make_unique<Registry>(root_, settings, [this] { return now_; });
  }
  std::string upload(const std::string& bytes) {
    const std::string id = registry_->initiate_upload("app");
    registry_->upload_part("app", id, 0, static_cast<std::int64_t>(bytes.size()) - 1, bytes);
    return registry_->complete_upload("app", id, {Digest::of(bytes).str()});
  }
  std::string put_image(const std::vector<std::string>& blobs, const std::string& tag) {
    ManifestFacts facts;
    facts.media_type = "application/vnd.oci.image.manifest.v1+json";
    std::string manifest = R"({"schemaVersion":2,"tag":")" + tag + "\"";
    for (const auto& b : blobs) {
      facts.blobs.push_back({b, 3, "application/octet-stream"});
      manifest += ",\"" + b + "\":1";
    }
    manifest += "}";
    manifests_[tag] = {manifest, facts};
    return registry_->put_image("app", manifest, facts, tag, std::nullopt).digest;
  }
  ImageInfo describe(const std::string& digest) {
    std::optional<std::string> next;
    return registry_
        ->describe_images("app", {ImageRef{digest, std::nullopt}}, std::nullopt, {}, next)
        .at(0);
  }
  // The failure code of pulling `digest` ("" when it was pulled).
  std::string pull(const std::string& digest, bool record = true) {
    std::vector<ImageFailure> failures;
    registry_->get_images("app", {ImageRef{digest, std::nullopt}}, failures, record);
    return failures.empty() ? "" : failures.front().code;
  }
  std::string availability(const std::string& layer) {
    std::vector<LayerFailure> failures;
    LayerAvailability a = registry_->check_layers("app", {layer}, failures).at(0);
    return a.available ? "AVAILABLE" : a.archived ? "ARCHIVED" : "UNAVAILABLE";
  }
  std::string error_of(const std::function<void()>& call) {
    try {
      call();
    } catch (const ServiceError& e) {
      return e.name();
    }
    return "none";
  }

  fs::path root_;
  Timestamp now_ = Timestamp(std::chrono::milliseconds(1'700'000'000'000));
  std::unique_ptr<Registry> registry_;
  std::map<std::string, std::pair<std::string, ManifestFacts>> manifests_;
};

TEST_F(ArchiveTest, AnArchivedImageRefusesEveryKindOfPull) {
  const std::string config = upload("cfg"), own = upload("own"), shared = upload("sha");
  const std::string image = put_image({config, own, shared}, "v1");
  const std::string other = put_image({upload("cf2"), shared}, "v2");
  auto change = registry_->update_storage_class("app", {image, std::nullopt}, "ARCHIVE");
  EXPECT_EQ(change.status, "ARCHIVED");
  ImageInfo info = describe(image);
  EXPECT_EQ(info.status, "ARCHIVED");
  EXPECT_EQ(info.archived_at, now_);
  EXPECT_EQ(pull(image), "ImageInaccessible");
  EXPECT_EQ(pull(other), "");
  EXPECT_EQ(availability(own), "ARCHIVED");
  EXPECT_EQ(availability(shared), "AVAILABLE");  // the active image still has it
  EXPECT_TRUE(registry_->layer_archived("app", own));
  EXPECT_FALSE(registry_->layer_archived("app", shared));
  EXPECT_EQ(error_of([&] { registry_->downloadable_layer("app", own); }),
            "LayerInaccessibleException");
  EXPECT_EQ(registry_->downloadable_layer("app", shared), 3);
}

TEST_F(ArchiveTest, ALayerOnlyArchivedImagesReferenceIsNotMountedElsewhere) {
  RepositoryInfo info;
  info.name = "other";
  registry_->create_repository(info, {});
  const std::string layer = upload("lay");
  const std::string image = put_image({layer}, "v1");
  registry_->update_storage_class("app", {image, std::nullopt}, "ARCHIVE");
  EXPECT_FALSE(registry_->mount_layer("other", "app", layer));
  registry_->update_storage_class("app", {image, std::nullopt}, "STANDARD");
  EXPECT_TRUE(registry_->mount_layer("other", "app", layer));
}

TEST_F(ArchiveTest, ARestoreIsActivatingForTheConfiguredDelay) {
  reopen(seconds(600));
  const std::string layer = upload("lay");
  const std::string image = put_image({layer}, "v1");
  registry_->update_storage_class("app", {std::nullopt, std::string("v1")}, "ARCHIVE");
  now_ += minutes(1);
  auto change =
      registry_->update_storage_class("app", {std::nullopt, std::string("v1")}, "STANDARD");
  EXPECT_EQ(change.digest, image);
  EXPECT_EQ(change.status, "ACTIVATING");
  EXPECT_EQ(describe(image).status, "ACTIVATING");
  EXPECT_FALSE(describe(image).activated_at.has_value());
  EXPECT_EQ(pull(image), "ImageInaccessible");
  EXPECT_EQ(availability(layer), "ARCHIVED");
  EXPECT_EQ(error_of([&] {
              registry_->update_storage_class("app", {image, std::nullopt}, "STANDARD");
            }),
            "ImageStorageClassUpdateNotSupportedException");
  now_ += minutes(10);
  EXPECT_EQ(describe(image).status, "ACTIVE");
  EXPECT_EQ(describe(image).activated_at, now_);
  EXPECT_EQ(pull(image), "");
  EXPECT_EQ(availability(layer), "AVAILABLE");
}

TEST_F(ArchiveTest, StorageClassChangesThatDoNothingAreRefused) {
  const std::string image = put_image({upload("lay")}, "v1");
  EXPECT_EQ(error_of([&] {
              registry_->update_storage_class("app", {image, std::nullopt}, "STANDARD");
            }),
            "ImageStorageClassUpdateNotSupportedException");
  registry_->update_storage_class("app", {image, std::nullopt}, "ARCHIVE");
  EXPECT_EQ(error_of([&] {
              registry_->update_storage_class("app", {image, std::nullopt}, "ARCHIVE");
            }),
            "ImageStorageClassUpdateNotSupportedException");
  EXPECT_EQ(
      error_of([&] {
        registry_->update_storage_class("app", {std::nullopt, std::string("nope")}, "ARCHIVE");
      }),
      "ImageNotFoundException");
  EXPECT_EQ(error_of([&] {
              registry_->update_storage_class("app", {std::nullopt, std::nullopt}, "ARCHIVE");
            }),
            "InvalidParameterException");
}

TEST_F(ArchiveTest, AChildOfAnActiveIndexIsNotArchivedAlone) {
  const std::string child = put_image({upload("lay")}, "child");
  ManifestFacts facts;
  facts.media_type = "application/vnd.oci.image.index.v1+json";
  facts.children = {child};
  const std::string index =
      registry_->put_image("app", R"({"manifests":["x"]})", facts, "index", std::nullopt).digest;
  EXPECT_EQ(error_of([&] {
              registry_->update_storage_class("app", {child, std::nullopt}, "ARCHIVE");
            }),
            "ImageStorageClassUpdateNotSupportedException");
  registry_->update_storage_class("app", {index, std::nullopt}, "ARCHIVE");
  EXPECT_EQ(registry_->update_storage_class("app", {child, std::nullopt}, "ARCHIVE").status,
            "ARCHIVED");
}

TEST_F(ArchiveTest, PushingAnArchivedImageAgainRestoresItAtOnce) {
  reopen(seconds(600));
  const std::string image = put_image({upload("lay")}, "v1");
  registry_->update_storage_class("app", {image, std::nullopt}, "ARCHIVE");
  now_ += minutes(5);
  const auto& [manifest, facts] = manifests_["v1"];
  EXPECT_EQ(registry_->put_image("app", manifest, facts, std::string("v1"), std::nullopt).status,
            "ACTIVE");
  EXPECT_EQ(describe(image).activated_at, now_);
  EXPECT_EQ(pull(image), "");
  // Active again: the same push is the usual ImageAlreadyExistsException.
  EXPECT_EQ(error_of([&] {
              registry_->put_image("app", manifest, facts, std::string("v1"), std::nullopt);
            }),
            "ImageAlreadyExistsException");
}

TEST_F(ArchiveTest, PullTimesAreRecordedAtMostOnceAMinute) {
  const std::string layer = upload("lay");
  const std::string a = put_image({upload("cf1"), layer}, "a");
  const std::string b = put_image({upload("cf2"), layer}, "b");
  EXPECT_FALSE(describe(a).pulled_at.has_value());
  EXPECT_EQ(pull(a, false), "");  // a HEAD: not a pull
  EXPECT_FALSE(describe(a).pulled_at.has_value());
  const Timestamp first = now_;
  EXPECT_EQ(pull(a), "");
  EXPECT_EQ(describe(a).pulled_at, first);
  now_ += seconds(59);
  pull(a);
  EXPECT_EQ(describe(a).pulled_at, first);
  now_ += seconds(1);
  pull(a);
  EXPECT_EQ(describe(a).pulled_at, now_);
  // A layer download is a pull of every active image that references it.
  now_ += minutes(5);
  registry_->downloadable_layer("app", layer);
  EXPECT_EQ(describe(a).pulled_at, now_);
  EXPECT_EQ(describe(b).pulled_at, now_);
}

TEST_F(ArchiveTest, LifecyclePoliciesArchiveByPullTimeAndExpireByArchiveTime) {
  const std::string pulled = put_image({upload("cf1")}, "pulled");
  const std::string idle = put_image({upload("cf2")}, "idle");
  now_ += days(10);
  pull(pulled);
  now_ += days(5);
  registry_->put_lifecycle_policy(
      "app",
      R"({"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"sinceImagePulled","countUnit":"days","countNumber":7},"action":{"type":"transition","targetStorageClass":"archive"}},)"
      R"({"rulePriority":2,"selection":{"tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90},"action":{"type":"expire"}}]})");
  LifecyclePreview preview = registry_->start_lifecycle_preview("app", std::nullopt);
  ASSERT_EQ(preview.status, "IN_PROGRESS");
  preview = registry_->lifecycle_preview("app");
  ASSERT_EQ(preview.results.size(), 1u);
  EXPECT_EQ(preview.results[0].digest, idle);
  EXPECT_EQ(preview.results[0].action, RuleAction::kTransition);
  EXPECT_FALSE(preview.results[0].archived);
  EXPECT_EQ(registry_->apply_lifecycle_policies(), 1u);
  EXPECT_EQ(describe(idle).status, "ARCHIVED");
  EXPECT_EQ(describe(pulled).status, "ACTIVE");
  now_ += days(89);
  // Archived 89 days ago: kept; pulled 94 days ago: archived now.
  EXPECT_EQ(registry_->apply_lifecycle_policies(), 1u);
  EXPECT_EQ(describe(pulled).status, "ARCHIVED");
  now_ += days(2);
  registry_->start_lifecycle_preview("app", std::nullopt);
  preview = registry_->lifecycle_preview("app");
  ASSERT_EQ(preview.results.size(), 1u);
  EXPECT_EQ(preview.results[0].digest, idle);
  EXPECT_EQ(preview.results[0].action, RuleAction::kExpire);
  EXPECT_TRUE(preview.results[0].archived);
  EXPECT_EQ(registry_->apply_lifecycle_policies(), 1u);
  EXPECT_EQ(error_of([&] { describe(idle); }), "ImageNotFoundException");
}

TEST_F(ArchiveTest, ARootFromBeforeTheArchiveStorageClassOpens) {
  const std::string image = put_image({upload("lay")}, "v1");
  registry_.reset();
  {
    sql::Database db((root_ / "metadata.db").string());
    for (const char* column : {"storage_class", "archived_at", "activated_at", "pulled_at"}) {
      db.exec(std::string("ALTER TABLE images DROP COLUMN ") + column);
    }
    db.exec("ALTER TABLE lifecycle_preview_results DROP COLUMN action");
    db.exec("ALTER TABLE lifecycle_preview_results DROP COLUMN storage_class");
  }
  reopen();
  ImageInfo info = describe(image);
  EXPECT_EQ(info.status, "ACTIVE");
  EXPECT_FALSE(info.pulled_at.has_value());
  EXPECT_EQ(pull(image), "");
  EXPECT_EQ(describe(image).pulled_at, now_);
}

}  // namespace
}  // namespace ecr::server
