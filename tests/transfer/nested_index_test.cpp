// An index of indexes of manifests (two levels, as BuildKit's attestation
// indexes nest) through the three transfers: a push to the fake registry, a
// pull of all platforms and a local copy into an OCI layout write the same
// manifests in the same order, children before the indexes naming them; an
// index nested three levels deep is refused by all three, with one message,
// before anything is written.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "ecr/error.hpp"
#include "ecr/image_location.hpp"
#include "ecr/transfer.hpp"
#include "oci/peer_tools.hpp"
#include "transfer/ecr_sink.hpp"
#include "transfer/engine.hpp"
#include "transfer/fake_registry.hpp"
#include "transfer/memory_source.hpp"
#include "transfer/recording_sink.hpp"

namespace ecr {
namespace {

namespace fs = std::filesystem;
using testing::FakeRegistry;
using testing::MemorySource;
using testing::RecordingSink;

// The image every test moves:
//   top -> [inner_a -> [amd, arm], inner_b -> [amd2, arm]]
// `arm` is named by both inner indexes and is written once.
struct NestedImage {
  Descriptor amd, arm, amd2, inner_a, inner_b, top;
  // What every transfer writes, in this order: each child before the index
  // that names it, each digest once, the root last.
  std::vector<Digest> write_order() const {
    return {amd.digest, arm.digest, inner_a.digest, amd2.digest, inner_b.digest, top.digest};
  }
};

Descriptor for_platform(Descriptor d, const char* arch) {
  d.platform = Platform{.os = "linux", .architecture = arch};
  return d;
}

Descriptor add_index(MemorySource& source, const std::vector<Descriptor>& children) {
  return source.add_blob(serialize_oci_index(children), std::string(media_type::kOciIndex));
}

NestedImage add_nested_image(MemorySource& source) {
  const Descriptor amd = source.add_image({3000, 10}, 'a');
  const Descriptor arm = source.add_image({2000}, 'b');
  const Descriptor amd2 = source.add_image({1000}, 'c');
  const Descriptor inner_a =
      add_index(source, {for_platform(amd, "amd64"), for_platform(arm, "arm64")});
  const Descriptor inner_b =
      add_index(source, {for_platform(amd2, "amd64"), for_platform(arm, "arm64")});
  const Descriptor top = add_index(source, {inner_a, inner_b});
  return NestedImage{amd, arm, amd2, inner_a, inner_b, top};
}

std::vector<std::string> digests(const std::vector<Digest>& ds) {
  std::vector<std::string> out;
  for (const auto& d : ds) out.push_back(d.str());
  return out;
}

std::set<std::string> files_in(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

std::string contents(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::unique_ptr<ImageSink> layout_sink(const fs::path& dir) {
  return open_image_sink(ImageLocation::parse("oci:" + dir.string()));
}

class NestedIndexTest : public ::testing::Test {
 protected:
  NestedIndexTest()
      : registry_(std::make_shared<FakeRegistry>()),
        session_(testing::open_fake_session(registry_)),
        image_(add_nested_image(source_)) {
    options_.jobs = 2;
  }

  // `source_` with `root` as its only image, named "v1".
  void name_root(const Descriptor& root) { source_.set_root(root); }

  PullResult pull_all_platforms(RecordingSink& sink) {
    TransferOptions o = options_;
    o.all_platforms = true;
    return transfer::pull_image(*session_, ImageReference::parse("team/app:v1"), sink, {"v1"}, o);
  }
  TransferResult copy_locally(RecordingSink& sink) {
    const TransferResult r = copy(source_, "", sink, options_);
    sink.commit();
    return r;
  }

  // The message every transfer refuses `deep` (an index naming top) with.
  std::string too_deep_message() const {
    return "index " + image_.top.digest.str() + " names index " + image_.inner_a.digest.str() +
           ": indexes nested more than 2 levels deep are not supported";
  }

  std::shared_ptr<FakeRegistry> registry_;
  std::unique_ptr<transfer::RegistrySession> session_;
  MemorySource source_;
  NestedImage image_;
  TransferOptions options_;
  test::ScratchDir dir_;
};

TEST_F(NestedIndexTest, PushPullAndLocalCopyWriteTheSameManifestsChildrenFirst) {
  name_root(image_.top);

  const PushResult pushed = transfer::push_image(*session_, source_, "", {"v1"}, options_);
  RecordingSink pulled(layout_sink(dir_.path() / "pulled"));
  const PullResult pull = pull_all_platforms(pulled);
  RecordingSink copied(layout_sink(dir_.path() / "copied"));
  const TransferResult local = copy_locally(copied);

  EXPECT_EQ(pushed.digest, image_.top.digest);
  EXPECT_EQ(pull.digest, image_.top.digest);
  EXPECT_EQ(local.digest, image_.top.digest);
  EXPECT_EQ(registry_->put_image_digests(), digests(image_.write_order()));
  EXPECT_EQ(pulled.manifests(), image_.write_order());
  EXPECT_EQ(copied.manifests(), image_.write_order());
  // Only the root is named, in the pull and the local copy alike.
  const std::vector<std::string> expected_manifest_calls = {
      "write_manifest " + image_.amd.digest.str() + " child",
      "write_manifest " + image_.arm.digest.str() + " child",
      "write_manifest " + image_.inner_a.digest.str() + " child",
      "write_manifest " + image_.amd2.digest.str() + " child",
      "write_manifest " + image_.inner_b.digest.str() + " child",
      "write_manifest " + image_.top.digest.str() + " root v1"};
  const auto manifest_calls = [](const RecordingSink& s) {
    std::vector<std::string> out;
    for (const auto& c : s.calls) {
      if (c.starts_with("write_manifest ")) out.push_back(c);
    }
    return out;
  };
  EXPECT_EQ(manifest_calls(pulled), expected_manifest_calls);
  EXPECT_EQ(manifest_calls(copied), expected_manifest_calls);
  // The two layouts hold the same files, and index.json names the same root.
  EXPECT_EQ(files_in(dir_.path() / "pulled/blobs/sha256"),
            files_in(dir_.path() / "copied/blobs/sha256"));
  EXPECT_EQ(files_in(dir_.path() / "copied/blobs/sha256").size(), 6u + 3u + 4u)
      << "6 manifests, 3 configs, 4 layers";
  EXPECT_EQ(contents(dir_.path() / "pulled/index.json"),
            contents(dir_.path() / "copied/index.json"));
  auto reread = open_image_source(ImageLocation::parse("oci:" + (dir_ / "copied")));
  EXPECT_EQ(reread->resolve("v1").digest, image_.top.digest);
}

TEST_F(NestedIndexTest, PushRefusesAnIndexNestedThreeLevelsBeforeWritingAnything) {
  name_root(add_index(source_, {image_.top}));

  try {
    transfer::push_image(*session_, source_, "", {"v1"}, options_);
    FAIL() << "a three-level index was pushed";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), too_deep_message());
  }
  for (const char* op : {"BatchCheckLayerAvailability", "InitiateLayerUpload", "UploadLayerPart",
                         "CompleteLayerUpload", "PutImage"}) {
    EXPECT_EQ(registry_->count(op), 0) << op;
  }
}

TEST_F(NestedIndexTest, PullRefusesAnIndexNestedThreeLevelsBeforeWritingAnything) {
  // The registry holds top (pushed as it is, two levels) and an index naming
  // it, put as it is: no transfer of ours would push it.
  name_root(image_.top);
  transfer::push_image(*session_, source_, "", {"two-levels"}, options_);
  const Descriptor deep = add_index(source_, {image_.top});
  transfer::EcrImageSink put(testing::open_fake_session(registry_), 1, kMinPartSize);
  put.write_manifest(parse_manifest(source_.bytes(deep.digest), media_type::kOciIndex), {"v1"},
                     true);
  const int puts = registry_->count("PutImage");
  const int parts = registry_->count("UploadLayerPart");

  {
    RecordingSink sink(layout_sink(dir_.path() / "pulled"));
    try {
      pull_all_platforms(sink);
      FAIL() << "a three-level index was pulled";
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()), too_deep_message());
    }
    EXPECT_EQ(sink.calls, std::vector<std::string>{});
  }
  EXPECT_FALSE(fs::exists(dir_.path() / "pulled"));
  EXPECT_EQ(registry_->count("GetDownloadUrlForLayer"), 0);
  EXPECT_EQ(registry_->count("GET"), 0);
  EXPECT_EQ(registry_->count("PutImage"), puts);
  EXPECT_EQ(registry_->count("UploadLayerPart"), parts);
}

TEST_F(NestedIndexTest, LocalCopyRefusesAnIndexNestedThreeLevelsBeforeWritingAnything) {
  name_root(add_index(source_, {image_.top}));

  {
    RecordingSink sink(layout_sink(dir_.path() / "copied"));
    try {
      copy(source_, "", sink, options_);
      FAIL() << "a three-level index was copied";
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()), too_deep_message());
    }
    EXPECT_EQ(sink.calls, std::vector<std::string>{});
  }
  EXPECT_TRUE(fs::is_empty(dir_.path()));
}

// With a platform chosen (every pull unless --all-platforms: the host's),
// an index of indexes is narrowed through its inner indexes, which name no
// platform of their own (the image-spec defines platform for manifests), as
// containerd's platform filter keeps such children.
TEST_F(NestedIndexTest, PullOfOnePlatformLooksInsideTheInnerIndexes) {
  name_root(image_.top);
  transfer::push_image(*session_, source_, "", {"v1"}, options_);
  TransferOptions arm64 = options_;
  arm64.platform = Platform{.os = "linux", .architecture = "arm64"};
  RecordingSink sink;

  const PullResult r =
      transfer::pull_image(*session_, ImageReference::parse("team/app:v1"), sink, {"v1"}, arm64);

  EXPECT_EQ(r.digest, image_.arm.digest);
  EXPECT_EQ(sink.manifests(), std::vector<Digest>{image_.arm.digest});
}

// With a platform chosen, an index nested three levels deep is refused for
// its depth, with the message every other transfer gives, not for its platform.
TEST_F(NestedIndexTest, CopyOfOnePlatformRefusesThreeLevelsNamingTheNestingLimit) {
  name_root(add_index(source_, {image_.top}));
  TransferOptions arm64 = options_;
  arm64.platform = Platform{.os = "linux", .architecture = "arm64"};
  RecordingSink sink;

  try {
    copy(source_, "", sink, arm64);
    FAIL() << "a three-level index was copied";
  } catch (const PlatformError& e) {
    ADD_FAILURE() << "refused for its platform, not its depth: " << e.what();
  } catch (const InputError& e) {
    EXPECT_TRUE(
        std::string(e.what()).ends_with("indexes nested more than 2 levels deep are not supported"))
        << e.what();
  }
  EXPECT_EQ(sink.calls, std::vector<std::string>{});
}

}  // namespace
}  // namespace ecr
