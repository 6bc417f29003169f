// OCI 1.1 referrers through the shipped tools: ecr-push --referrers carries
// an image's SBOM and the SBOM's signature out of an OCI layout into
// ecr-local, ecr-pull --referrers brings them back into a layout or an
// oci-archive, listed in index.json; without the flag neither happens.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <string>
#include <vector>

#include "e2e/e2e_support.hpp"
#include "ecr/image_location.hpp"
#include "ecr/manifest.hpp"
#include "oci/peer_tools.hpp"
#include "support/subprocess.hpp"

namespace ecr {
namespace {

namespace fs = std::filesystem;
using namespace e2e;

constexpr const char* kEmptyConfig = "application/vnd.oci.empty.v1+json";
constexpr const char* kSpdx = "application/spdx+json";
constexpr const char* kSignature = "application/vnd.example.signature.v1+json";
constexpr const char* kRefName = "org.opencontainers.image.ref.name";

// An image, an SBOM whose subject is the image, and a signature whose
// subject is the SBOM, in one OCI layout; index.json lists all three (the
// image as "v1"), as oras writes a layout.
struct ReferredImage {
  fs::path dir;
  std::string image;  // manifest bytes
  std::string sbom;
  std::string signature;
  std::string sbom_layer;
  std::string signature_layer;
};

std::string artifact_manifest(const char* artifact_type, const char* layer_type,
                              const std::string& layer, const std::string& subject,
                              const std::string& created, const char* subject_type = kOciManifest) {
  return std::string("{\"schemaVersion\":2,\"mediaType\":\"") + kOciManifest +
         "\",\"artifactType\":\"" + artifact_type +
         "\",\"config\":" + descriptor_json(kEmptyConfig, "{}") + ",\"layers\":[" +
         descriptor_json(layer_type, layer) +
         "],\"subject\":" + descriptor_json(subject_type, subject) +
         ",\"annotations\":{\"org.opencontainers.image.created\":\"" + created + "\"}}";
}

ReferredImage write_referred_image(const fs::path& dir, std::uint64_t seed) {
  LayoutWriter w(dir);
  ReferredImage r;
  r.dir = dir;
  r.image = w.add_image("amd64", random_bytes(40000, seed));
  w.add("{}");
  r.sbom_layer = w.add("{\"spdxVersion\":\"SPDX-2.3\",\"name\":\"image-" + std::to_string(seed) +
                       "\",\"packages\":[]}");
  r.sbom = w.add(artifact_manifest(kSpdx, kSpdx, r.sbom_layer, r.image, "2026-12-01T00:00:00Z"));
  r.signature_layer = w.add(random_bytes(300, seed + 1));
  r.signature = w.add(artifact_manifest(kSignature, "application/vnd.example.signature.v1",
                                        r.signature_layer, r.sbom, "2026-12-02T00:00:00Z"));
  write_file(dir / "index.json",
             "{\"schemaVersion\":2,\"manifests\":[" +
                 descriptor_json(kOciManifest, r.image,
                                 std::string(",\"annotations\":{\"") + kRefName + "\":\"v1\"}") +
                 "," +
                 descriptor_json(kOciManifest, r.sbom,
                                 std::string(",\"artifactType\":\"") + kSpdx + "\"") +
                 "," +
                 descriptor_json(kOciManifest, r.signature,
                                 std::string(",\"artifactType\":\"") + kSignature + "\"") +
                 "]}");
  return r;
}

// A referrer as ListImageReferrers and index.json describe it.
Descriptor referrer(const std::string& manifest, const char* artifact_type,
                    const std::string& created) {
  Descriptor d{.media_type = kOciManifest,
               .digest = Digest::of(manifest),
               .size = static_cast<std::int64_t>(manifest.size())};
  d.artifact_type = artifact_type;
  d.annotations = {{"org.opencontainers.image.created", created}};
  return d;
}

Descriptor sbom_entry(const ReferredImage& r) {
  return referrer(r.sbom, kSpdx, "2026-12-01T00:00:00Z");
}
Descriptor signature_entry(const ReferredImage& r) {
  return referrer(r.signature, kSignature, "2026-12-02T00:00:00Z");
}
Descriptor image_entry(const ReferredImage& r) {
  Descriptor d{.media_type = kOciManifest,
               .digest = Digest::of(r.image),
               .size = static_cast<std::int64_t>(r.image.size())};
  d.annotations = {{kRefName, "v1"}};
  return d;
}

class Referrers : public EcrLocalSuite {
 protected:
  static testing::ProcessResult ok(const std::string& binary,
                                   const std::vector<std::string>& args) {
    testing::ProcessResult r = run(binary, args);
    EXPECT_EQ(r.exit_status, 0) << binary << " failed\nstdout: " << r.stdout_text
                                << "\nstderr: " << r.stderr_text;
    return r;
  }

  // ListImageReferrers of `subject` through the ecr CLI, as descriptors.
  static std::vector<Descriptor> listed_referrers(const std::string& repo,
                                                  const std::string& subject) {
    const testing::ProcessResult r = ok(kEcrCli, {"list-image-referrers", "--repository-name", repo,
                                                  "--subject-id", "imageDigest=" + subject});
    simdjson::dom::parser parser;
    const simdjson::dom::element doc = parser.parse(r.stdout_text);
    std::vector<Descriptor> out;
    for (const simdjson::dom::element e : doc["referrers"].get_array()) {
      Descriptor d{.media_type = std::string(std::string_view(e["mediaType"])),
                   .digest = Digest::parse(std::string_view(e["digest"])),
                   .size = int64_t(e["size"])};
      d.artifact_type = std::string(std::string_view(e["artifactType"]));
      for (const auto field : e["annotations"].get_object()) {
        d.annotations[std::string(field.key)] = std::string(std::string_view(field.value));
      }
      EXPECT_EQ(std::string_view(e["artifactStatus"]), "ACTIVE");
      out.push_back(std::move(d));
    }
    return out;
  }

  // The manifest bytes BatchGetImage answers for `digest`, or "" with the
  // failure code when it answers a failure.
  static std::string manifest_in_registry(const std::string& repo, const std::string& digest) {
    const testing::ProcessResult r =
        ok(kEcrCli, {"batch-get-image", "--repository-name", repo, "--image-ids",
                     "imageDigest=" + digest, "--accepted-media-types", kOciManifest});
    simdjson::dom::parser parser;
    const simdjson::dom::element doc = parser.parse(r.stdout_text);
    const simdjson::dom::array images = doc["images"].get_array();
    if (images.size() == 0) {
      return "failure " + std::string(std::string_view(doc["failures"].at(0)["failureCode"]));
    }
    return std::string(std::string_view(images.at(0)["imageManifest"]));
  }

  static Summary push_referrers(const fs::path& layout, const std::string& dest) {
    return run_json(kEcrPush,
                    {"--create-repository", "--referrers", "oci:" + layout.string() + ":v1", dest},
                    "bytesUploaded");
  }

  // The descriptors an OCI layout or archive lists in its index.json.
  static std::vector<Descriptor> index_entries(const std::string& location) {
    auto source = open_image_source(ImageLocation::parse(location));
    std::vector<Descriptor> out;
    for (const auto& e : source->list()) out.push_back(e.descriptor);
    return out;
  }
};

TEST_F(Referrers, PushCarriesTheSbomAndItsSignatureUntagged) {
  const ReferredImage r = write_referred_image(work_ / "push-layout", 101);

  const testing::ProcessResult pushed =
      ok(kEcrPush,
         {"--create-repository", "--referrers", "oci:" + r.dir.string() + ":v1", "ref/push:v1"});

  const std::string image = sha256(r.image);
  EXPECT_EQ(pushed.stdout_text, "pushed ref/push:v1 " + image + "\npushed referrer " +
                                    sha256(r.sbom) + " " + kSpdx + "\npushed referrer " +
                                    sha256(r.signature) + " " + kSignature + "\n");
  EXPECT_EQ(listed_referrers("ref/push", image), std::vector<Descriptor>{sbom_entry(r)});
  EXPECT_EQ(listed_referrers("ref/push", sha256(r.sbom)),
            std::vector<Descriptor>{signature_entry(r)});
  EXPECT_EQ(listed_referrers("ref/push", sha256(r.signature)), std::vector<Descriptor>{});
  EXPECT_EQ(manifest_in_registry("ref/push", image), r.image);
  EXPECT_EQ(manifest_in_registry("ref/push", sha256(r.sbom)), r.sbom);
  EXPECT_EQ(manifest_in_registry("ref/push", sha256(r.signature)), r.signature);
  // Only the image is tagged.
  const testing::ProcessResult tags =
      ok(kEcrCli, {"list-images", "--repository-name", "ref/push", "--filter", "tagStatus=TAGGED"});
  EXPECT_NE(tags.stdout_text.find(image), std::string::npos) << tags.stdout_text;
  EXPECT_EQ(tags.stdout_text.find(sha256(r.sbom)), std::string::npos) << tags.stdout_text;
}

TEST_F(Referrers, PushSummaryListsTheReferrersNearestFirst) {
  const ReferredImage r = write_referred_image(work_ / "summary-layout", 111);

  const testing::ProcessResult pushed =
      ok(kEcrPush, {"--create-repository", "--referrers", "--json", "--quiet",
                    "oci:" + r.dir.string() + ":v1", "ref/summary:v1"});

  const std::string line = last_line(pushed.stdout_text);
  EXPECT_NE(line.find(std::string("\"referrers\":[{\"digest\":\"") + sha256(r.sbom) +
                      "\",\"mediaType\":\"" + kOciManifest + "\",\"artifactType\":\"" + kSpdx +
                      "\"},{\"digest\":\"" + sha256(r.signature) + "\""),
            std::string::npos)
      << line;
  // The blobs of both referrers were uploaded with the image's.
  const auto actions = parse_summary(pushed.stdout_text, "bytesUploaded").actions();
  EXPECT_EQ(actions.at(sha256(r.sbom_layer)), "uploaded");
  EXPECT_EQ(actions.at(sha256(r.signature_layer)), "uploaded");
  EXPECT_EQ(actions.at(sha256("{}")), "uploaded");
}

TEST_F(Referrers, RepushWithReferrersFindsEverythingThereAndSucceeds) {
  const ReferredImage r = write_referred_image(work_ / "repush-layout", 115);
  push_referrers(r.dir, "ref/repush:v1");
  const int puts_before = server_->requests("PutImage");

  const Summary again = push_referrers(r.dir, "ref/repush:v1");

  EXPECT_EQ(again.digest, sha256(r.image));
  for (const auto& b : again.blobs) EXPECT_EQ(b.action, "exists") << b.digest;
  EXPECT_EQ(again.bytes, 0);
  // The image under its tag, then each referrer by digest.
  EXPECT_EQ(server_->requests("PutImage"), puts_before + 3);
  EXPECT_EQ(listed_referrers("ref/repush", sha256(r.image)),
            std::vector<Descriptor>{sbom_entry(r)});
}

// With an index, referrers of the index and of each child the transfer
// carries travel: all of them with the whole index, only the child's with
// one platform picked out of it.
TEST_F(Referrers, AnIndexCarriesTheReferrersOfItselfAndOfEachChildItCarries) {
  const fs::path dir = work_ / "index-referrers";
  const TwoPlatformImage image = write_two_platform_layout(dir, "v1");
  LayoutWriter w(dir);
  w.add("{}");
  const std::string index_sig = w.add(artifact_manifest(
      kSignature, "application/vnd.example.signature.v1", w.add("signature of the index"),
      image.index, "2026-12-03T00:00:00Z", kOciIndex));
  const std::string arm_sbom = w.add(
      artifact_manifest(kSpdx, kSpdx, w.add("{\"spdxVersion\":\"SPDX-2.3\",\"name\":\"arm\"}"),
                        image.arm, "2026-12-04T00:00:00Z"));
  write_file(dir / "index.json",
             "{\"schemaVersion\":2,\"manifests\":[" +
                 descriptor_json(kOciIndex, image.index,
                                 std::string(",\"annotations\":{\"") + kRefName + "\":\"v1\"}") +
                 "," + descriptor_json(kOciManifest, index_sig) + "," +
                 descriptor_json(kOciManifest, arm_sbom) + "]}");
  const Descriptor index_sig_entry = referrer(index_sig, kSignature, "2026-12-03T00:00:00Z");
  const Descriptor arm_sbom_entry = referrer(arm_sbom, kSpdx, "2026-12-04T00:00:00Z");

  push_referrers(dir, "ref/index:v1");
  const fs::path one = work_ / "index-referrers-arm";
  const fs::path all = work_ / "index-referrers-all";
  ok(kEcrPull, {"--referrers", "--quiet", "--platform", "linux/arm64", "ref/index:v1",
                "oci:" + one.string() + ":v1"});
  ok(kEcrPull,
     {"--referrers", "--quiet", "--all-platforms", "ref/index:v1", "oci:" + all.string() + ":v1"});

  EXPECT_EQ(listed_referrers("ref/index", sha256(image.index)),
            std::vector<Descriptor>{index_sig_entry});
  EXPECT_EQ(listed_referrers("ref/index", sha256(image.arm)),
            std::vector<Descriptor>{arm_sbom_entry});
  EXPECT_EQ(listed_referrers("ref/index", sha256(image.amd)), std::vector<Descriptor>{});
  const std::vector<Descriptor> arm_entries = index_entries("oci:" + one.string());
  ASSERT_EQ(arm_entries.size(), 2u);
  EXPECT_EQ(arm_entries[0].digest.str(), sha256(image.arm));
  EXPECT_EQ(arm_entries[1], arm_sbom_entry);
  const std::vector<Descriptor> all_entries = index_entries("oci:" + all.string());
  ASSERT_EQ(all_entries.size(), 3u);
  EXPECT_EQ(all_entries[0].digest.str(), sha256(image.index));
  // Nearest first; among equals, in plan order: the children's before the index's.
  EXPECT_EQ(all_entries[1], arm_sbom_entry);
  EXPECT_EQ(all_entries[2], index_sig_entry);
}

// A layout holding one platform of an index (the other child's manifest is
// not there) still gives the referrers of the platform it holds.
TEST_F(Referrers, APartialLayoutPushesThePlatformItHoldsWithItsReferrers) {
  const fs::path dir = work_ / "partial-index";
  const TwoPlatformImage image = write_two_platform_layout(dir, "v1");
  LayoutWriter w(dir);
  w.add("{}");
  const std::string arm_sbom = w.add(artifact_manifest(
      kSpdx, kSpdx, w.add("{\"name\":\"partial\"}"), image.arm, "2026-12-05T00:00:00Z"));
  write_file(dir / "index.json",
             "{\"schemaVersion\":2,\"manifests\":[" +
                 descriptor_json(kOciIndex, image.index,
                                 std::string(",\"annotations\":{\"") + kRefName + "\":\"v1\"}") +
                 "," + descriptor_json(kOciManifest, arm_sbom) + "]}");
  fs::remove(dir / "blobs" / "sha256" / sha256(image.amd).substr(7));

  const Summary pushed = run_json(kEcrPush,
                                  {"--create-repository", "--referrers", "--platform",
                                   "linux/arm64", "oci:" + dir.string() + ":v1", "ref/partial:v1"},
                                  "bytesUploaded");

  EXPECT_EQ(pushed.digest, sha256(image.arm));
  EXPECT_EQ(listed_referrers("ref/partial", sha256(image.arm)),
            std::vector<Descriptor>{referrer(arm_sbom, kSpdx, "2026-12-05T00:00:00Z")});
}

TEST_F(Referrers, PushWithoutTheFlagPushesTheImageAlone) {
  const ReferredImage r = write_referred_image(work_ / "plain-layout", 121);

  const Summary pushed =
      run_json(kEcrPush, {"--create-repository", "oci:" + r.dir.string() + ":v1", "ref/plain:v1"},
               "bytesUploaded");

  EXPECT_EQ(pushed.digest, sha256(r.image));
  EXPECT_EQ(pushed.blobs.size(), 2u);  // the image's config and layer
  EXPECT_EQ(listed_referrers("ref/plain", sha256(r.image)), std::vector<Descriptor>{});
  EXPECT_EQ(manifest_in_registry("ref/plain", sha256(r.sbom)), "failure ImageNotFound");
}

TEST_F(Referrers, PullIntoALayoutListsTheReferrersInIndexJson) {
  const ReferredImage r = write_referred_image(work_ / "pull-source", 131);
  push_referrers(r.dir, "ref/pull:v1");
  const fs::path layout = work_ / "pulled-with-referrers";

  const Summary pulled =
      run_json(kEcrPull, {"--referrers", "ref/pull:v1", "oci:" + layout.string() + ":v1"},
               "bytesDownloaded");

  EXPECT_EQ(pulled.digest, sha256(r.image));
  EXPECT_EQ(index_entries("oci:" + layout.string()),
            (std::vector<Descriptor>{image_entry(r), sbom_entry(r), signature_entry(r)}));
  for (const std::string* bytes :
       {&r.image, &r.sbom, &r.signature, &r.sbom_layer, &r.signature_layer}) {
    EXPECT_EQ(read_file(layout / "blobs" / "sha256" / sha256(*bytes).substr(7)), *bytes);
  }
  // The layout pushes back with its referrers under the same digests.
  const Summary again = push_referrers(layout, "ref/pull-again:v1");
  EXPECT_EQ(again.digest, sha256(r.image));
  EXPECT_EQ(listed_referrers("ref/pull-again", sha256(r.image)),
            std::vector<Descriptor>{sbom_entry(r)});
  EXPECT_EQ(listed_referrers("ref/pull-again", sha256(r.sbom)),
            std::vector<Descriptor>{signature_entry(r)});
}

TEST_F(Referrers, PullIntoAnOciArchiveListsTheReferrersInIndexJson) {
  const ReferredImage r = write_referred_image(work_ / "archive-source", 141);
  push_referrers(r.dir, "ref/archive:v1");
  const fs::path archive = work_ / "with-referrers.oci.tar";

  ok(kEcrPull,
     {"--referrers", "--quiet", "ref/archive:v1", "oci-archive:" + archive.string() + ":v1"});

  const std::string location = "oci-archive:" + archive.string();
  EXPECT_EQ(index_entries(location),
            (std::vector<Descriptor>{image_entry(r), sbom_entry(r), signature_entry(r)}));
  auto source = open_image_source(ImageLocation::parse(location));
  EXPECT_EQ(source->resolve("v1").raw, r.image);
  EXPECT_EQ(source->referrers(Digest::of(r.image)), std::vector<Descriptor>{sbom_entry(r)});
  EXPECT_EQ(source->referrers(Digest::of(r.sbom)), std::vector<Descriptor>{signature_entry(r)});
  EXPECT_EQ(source->fetch_manifest(signature_entry(r)).raw, r.signature);
  // The archive pushes back with its referrers.
  const Summary again = run_json(
      kEcrPush, {"--create-repository", "--referrers", location + ":v1", "ref/archive-again:v1"},
      "bytesUploaded");
  EXPECT_EQ(again.digest, sha256(r.image));
  EXPECT_EQ(listed_referrers("ref/archive-again", sha256(r.image)),
            std::vector<Descriptor>{sbom_entry(r)});
  EXPECT_EQ(listed_referrers("ref/archive-again", sha256(r.sbom)),
            std::vector<Descriptor>{signature_entry(r)});
}

TEST_F(Referrers, ImageCopyBetweenRepositoriesCarriesTheReferrers) {
  const ReferredImage r = write_referred_image(work_ / "copy-source", 181);
  push_referrers(r.dir, "ref/copy-from:v1");

  const testing::ProcessResult copied =
      ok(kEcrCli, {"image", "copy", "--create-repository", "--referrers", "ecr:ref/copy-from:v1",
                   "ecr:ref/copy-to:v1"});

  EXPECT_EQ(copied.stdout_text, sha256(r.image) + "\n");
  EXPECT_EQ(listed_referrers("ref/copy-to", sha256(r.image)),
            std::vector<Descriptor>{sbom_entry(r)});
  EXPECT_EQ(listed_referrers("ref/copy-to", sha256(r.sbom)),
            std::vector<Descriptor>{signature_entry(r)});
  EXPECT_EQ(manifest_in_registry("ref/copy-to", sha256(r.signature)), r.signature);
}

// skopeo and umoci read a layout and an archive pulled with referrers as
// before: index.json's unnamed referrer entries do not hide the image.
TEST_F(Referrers, PeersReadTheImageOfALayoutAndAnArchivePulledWithReferrers) {
  REQUIRE_PEERS();
  const ReferredImage r = write_referred_image(work_ / "peers-source", 191);
  push_referrers(r.dir, "ref/peers:v1");
  const fs::path layout = work_ / "peers-layout";
  const fs::path archive = work_ / "peers.oci.tar";
  ok(kEcrPull, {"--referrers", "--quiet", "ref/peers:v1", "oci:" + layout.string() + ":v1"});
  ok(kEcrPull,
     {"--referrers", "--quiet", "ref/peers:v1", "oci-archive:" + archive.string() + ":v1"});

  EXPECT_EQ(test::skopeo_digest("oci:" + layout.string() + ":v1"), sha256(r.image));
  EXPECT_EQ(test::skopeo_digest("oci-archive:" + archive.string() + ":v1"), sha256(r.image));
  test::run("umoci stat --image " + layout.string() + ":v1");
  const fs::path copied = work_ / "peers-copied";
  test::run("skopeo copy --quiet oci:" + layout.string() + ":v1 oci:" + copied.string() + ":v1");
  // skopeo copies the image out of it (run() fails the test on an error).
  EXPECT_TRUE(fs::is_regular_file(copied / "index.json"));
}

TEST_F(Referrers, PullWithoutTheFlagWritesTheImageAlone) {
  const ReferredImage r = write_referred_image(work_ / "alone-source", 151);
  push_referrers(r.dir, "ref/alone:v1");
  const fs::path layout = work_ / "pulled-alone";

  const testing::ProcessResult pulled =
      ok(kEcrPull, {"ref/alone:v1", "oci:" + layout.string() + ":v1"});

  EXPECT_EQ(pulled.stdout_text,
            "pulled ref/alone:v1 " + sha256(r.image) + " into oci:" + layout.string() + ":v1\n");
  EXPECT_EQ(index_entries("oci:" + layout.string()), std::vector<Descriptor>{image_entry(r)});
  EXPECT_FALSE(fs::exists(layout / "blobs" / "sha256" / sha256(r.sbom).substr(7)));
}

TEST_F(Referrers, PushOfADamagedReferrerBlobFailsNamingIt) {
  const ReferredImage r = write_referred_image(work_ / "damaged-referrer", 161);
  const fs::path blob = r.dir / "blobs" / "sha256" / sha256(r.signature_layer).substr(7);
  std::string bytes = read_file(blob);
  bytes[10] = static_cast<char>(bytes[10] ^ 0x40);
  write_file(blob, bytes);

  const testing::ProcessResult pushed =
      run(kEcrPush, {"--no-cache", "--create-repository", "--referrers",
                     "oci:" + r.dir.string() + ":v1", "ref/damaged:v1"});

  EXPECT_EQ(pushed.exit_status, 1) << pushed.stderr_text;
  EXPECT_NE(pushed.stderr_text.find(sha256(r.signature_layer)), std::string::npos)
      << pushed.stderr_text;
  EXPECT_EQ(manifest_in_registry("ref/damaged", sha256(r.signature)), "failure ImageNotFound");
}

TEST_F(Referrers, PullOfADamagedReferrerBlobFailsNamingItAndWritesNothing) {
  const ReferredImage r = write_referred_image(work_ / "damaged-in-registry", 171);
  push_referrers(r.dir, "ref/damaged-pull:v1");
  // Damaged where ecr-local keeps it, same size.
  const fs::path stored =
      server_->directory() / "registry" / "blobs" / "sha256" / sha256(r.signature_layer).substr(7);
  std::string bytes = read_file(stored);
  ASSERT_EQ(bytes, r.signature_layer);
  bytes[20] = static_cast<char>(bytes[20] ^ 0x01);
  write_file(stored, bytes);
  const fs::path layout = work_ / "damaged-pull";

  const testing::ProcessResult pulled =
      run(kEcrPull, {"--no-cache", "--referrers", "ref/damaged-pull:v1", "oci:" + layout.string()});

  EXPECT_EQ(pulled.exit_status, 1) << pulled.stderr_text;
  EXPECT_NE(pulled.stderr_text.find(sha256(r.signature_layer)), std::string::npos)
      << pulled.stderr_text;
  EXPECT_FALSE(fs::exists(layout));
}

TEST_F(Referrers, DockerArchivePushSaysItHoldsNoReferrers) {
  const testing::ProcessResult pushed = ok(
      kEcrPush,
      {"--create-repository", "--referrers", "docker-archive:" + kDockerArchive, "ref/docker:v1"});

  EXPECT_NE(pushed.stderr_text.find(
                "ecr-push: a docker-archive holds no referrers; the image was pushed alone"),
            std::string::npos)
      << pushed.stderr_text;
  EXPECT_NE(pushed.stdout_text.find("no referrers of sha256:"), std::string::npos)
      << pushed.stdout_text;
}

TEST_F(Referrers, PullIntoADockerArchiveRefusesTheFlag) {
  const testing::ProcessResult pulled =
      run(kEcrPull,
          {"--referrers", "ref/push:v1", "docker-archive:" + (work_ / "refused.tar").string()});

  EXPECT_EQ(pulled.exit_status, 2) << pulled.stderr_text;
  EXPECT_NE(pulled.stderr_text.find("a docker-archive cannot hold referrers"), std::string::npos)
      << pulled.stderr_text;
  EXPECT_FALSE(fs::exists(work_ / "refused.tar"));
}

}  // namespace
}  // namespace ecr
