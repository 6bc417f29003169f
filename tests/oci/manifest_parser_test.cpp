#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "ecr/error.hpp"
#include "ecr/manifest.hpp"

namespace ecr {
namespace {

using ::testing::HasSubstr;

const std::string kConfigDigest =
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
const std::string kLayerDigest =
    "sha256:c6f988f4874bb0add23a778f753c65efe992244e148a1d2ec2a8b664fb66bbd1";

std::string oci_manifest(const std::string& extra = "") {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
         R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
         kConfigDigest +
         R"(","size":7023},"layers":[{"mediaType":)"
         R"("application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
         kLayerDigest +
         R"(","size":32654,"urls":["https://example.com/l"],)"
         R"("annotations":{"a":"b"}}])" +
         extra + "}";
}

std::string index_with(const std::string& manifests) {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",)"
         R"("manifests":[)" +
         manifests + "]}";
}

std::string child(const std::string& platform) {
  return R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + kLayerDigest +
         R"(","size":10,"platform":)" + platform + "}";
}

std::string error_of(std::string_view bytes, std::string_view hint = "") {
  try {
    parse_manifest(bytes, hint);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ManifestParser, ParsesOciManifestKeepingBytesAndDigest) {
  const std::string bytes = oci_manifest();
  ParsedManifest m = parse_manifest(bytes, "");
  EXPECT_EQ(m.kind, ManifestKind::kImage);
  EXPECT_EQ(m.media_type, media_type::kOciManifest);
  EXPECT_EQ(m.raw, bytes);
  EXPECT_EQ(m.digest, Digest::of(bytes));
  ASSERT_TRUE(m.config);
  EXPECT_EQ(m.config->digest.str(), kConfigDigest);
  EXPECT_EQ(m.config->size, 7023);
  ASSERT_EQ(m.layers.size(), 1u);
  EXPECT_EQ(m.layers[0].media_type, media_type::kOciLayerGzip);
  EXPECT_EQ(m.layers[0].size, 32654);
  EXPECT_EQ(m.layers[0].urls, std::vector<std::string>{"https://example.com/l"});
  EXPECT_EQ(m.layers[0].annotations.at("a"), "b");
  EXPECT_EQ(m.descriptor().size, static_cast<std::int64_t>(bytes.size()));
}

TEST(ManifestParser, DigestIsOverStoredBytesNotReserialization) {
  const std::string spaced = " \n" + oci_manifest() + "\n ";
  ParsedManifest m = parse_manifest(spaced, "");
  EXPECT_EQ(m.digest, Digest::of(spaced));
  EXPECT_NE(m.digest, Digest::of(oci_manifest()));
}

TEST(ManifestParser, ParsesDockerManifestList) {
  const std::string bytes =
      R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json",)"
      R"("manifests":[{"mediaType":"application/vnd.docker.distribution.manifest.v2+json",)"
      R"("digest":")" +
      kLayerDigest +
      R"(","size":528,"platform":{"architecture":"arm",)"
      R"("os":"linux","variant":"v7","os.version":"10.0","os.features":["x"],"features":["sse4"]}}]})";
  ParsedManifest m =
      parse_manifest(bytes, "application/vnd.docker.distribution.manifest.list.v2+json");
  EXPECT_TRUE(m.is_index());
  ASSERT_EQ(m.manifests.size(), 1u);
  const Platform& p = *m.manifests[0].platform;
  EXPECT_EQ(p.str(), "linux/arm/v7");
  EXPECT_EQ(p.os_version, "10.0");
  EXPECT_EQ(p.os_features, std::vector<std::string>{"x"});
  EXPECT_EQ(p.features, std::vector<std::string>{"sse4"});
}

TEST(ManifestParser, HintWithParametersIsAccepted) {
  ParsedManifest m =
      parse_manifest(oci_manifest(), "application/vnd.oci.image.manifest.v1+json; charset=utf-8");
  EXPECT_EQ(m.media_type, media_type::kOciManifest);
}

TEST(ManifestParser, MissingMediaTypeTakesHintOrShape) {
  const std::string no_type = R"({"schemaVersion":2,"manifests":[]})";
  EXPECT_EQ(parse_manifest(no_type, "").media_type, media_type::kOciIndex);
  EXPECT_EQ(parse_manifest(no_type, "application/vnd.docker.distribution.manifest.list.v2+json")
                .media_type,
            media_type::kDockerManifestList);
}

TEST(ManifestParser, RefusesMismatchedHint) {
  EXPECT_EQ(error_of(oci_manifest(), "application/vnd.docker.distribution.manifest.v2+json"),
            "manifest media type mismatch: the document says "
            "\"application/vnd.oci.image.manifest.v1+json\" but it was given as "
            "\"application/vnd.docker.distribution.manifest.v2+json\"");
}

TEST(ManifestParser, RefusesUnknownMediaType) {
  EXPECT_EQ(error_of(R"({"schemaVersion":2,"mediaType":"text/plain","layers":[]})"),
            "unsupported manifest media type \"text/plain\"");
  EXPECT_EQ(error_of(R"({"schemaVersion":2,"manifests":[]})", "application/json"),
            "unsupported manifest media type \"application/json\"");
}

TEST(ManifestParser, RefusesSchema1) {
  EXPECT_EQ(error_of(R"({"schemaVersion":2})",
                     "application/vnd.docker.distribution.manifest.v1+prettyjws"),
            "Docker schema1 manifests are not supported (media type "
            "application/vnd.docker.distribution.manifest.v1+prettyjws)");
}

TEST(ManifestParser, RefusesSchemaVersionOtherThanTwo) {
  EXPECT_EQ(error_of(R"({"schemaVersion":1,"manifests":[]})"),
            "manifest.schemaVersion must be 2 (found 1)");
  EXPECT_EQ(error_of(R"({"schemaVersion":"2","manifests":[]})"),
            "manifest.schemaVersion must be 2 (found \"2\")");
  EXPECT_EQ(error_of(R"({"manifests":[]})"), "manifest.schemaVersion is missing");
}

TEST(ManifestParser, RefusesBadDigest) {
  std::string bytes = oci_manifest();
  bytes.replace(bytes.find(kConfigDigest), kConfigDigest.size(), "sha256:ABC");
  EXPECT_EQ(error_of(bytes), "manifest.config.digest is not a valid sha256 digest: \"sha256:ABC\"");
}

TEST(ManifestParser, RefusesNegativeAndFractionalSizes) {
  std::string neg = oci_manifest();
  neg.replace(neg.find("7023"), 4, "-1");
  EXPECT_EQ(error_of(neg), "manifest.config.size must not be negative (found -1)");
  std::string frac = oci_manifest();
  frac.replace(frac.find("32654"), 5, "1.5");
  EXPECT_EQ(error_of(frac), "manifest.layers[0].size must be an integer between 0 and 2^63-1");
  std::string huge = oci_manifest();
  huge.replace(huge.find("32654"), 5, "18446744073709551615");
  EXPECT_EQ(error_of(huge), "manifest.layers[0].size must be an integer between 0 and 2^63-1");
}

TEST(ManifestParser, RefusesMissingFields) {
  EXPECT_EQ(
      error_of(
          R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]})"),
      "manifest.config is missing");
  std::string no_layers = oci_manifest();
  no_layers = R"({"schemaVersion":2,"config":{"mediaType":"a/b","digest":")" + kConfigDigest +
              R"(","size":1}})";
  EXPECT_EQ(error_of(no_layers), "manifest.layers is missing");
  EXPECT_EQ(error_of(index_with(child(R"({"os":"linux"})"))),
            "manifest.manifests[0].platform.architecture is missing");
}

TEST(ManifestParser, RefusesAmbiguousDocuments) {
  EXPECT_EQ(error_of(oci_manifest(R"(,"manifests":[])")),
            "an image manifest (application/vnd.oci.image.manifest.v1+json) must not carry "
            "manifests");
}

TEST(ManifestParser, RefusesInvalidJsonAndNonObjects) {
  EXPECT_THAT(error_of("{\"schemaVersion\":2,"), HasSubstr("invalid JSON in manifest"));
  EXPECT_EQ(error_of("[1,2]"), "manifest must be a JSON object");
}

TEST(ManifestParser, RefusesOversizedDocument) {
  std::string big =
      oci_manifest(",\"annotations\":{\"pad\":\"" + std::string(kMaxManifestBytes, 'x') + "\"}");
  EXPECT_EQ(error_of(big),
            "manifest is " + std::to_string(big.size()) + " bytes; at most 4194304 are accepted");
}

TEST(ManifestParser, RefusesIndexOverTenThousandEntries) {
  std::string entries;
  for (int i = 0; i < 10'001; ++i) {
    if (i) entries += ',';
    entries += R"({"mediaType":"a/b","digest":")" + kLayerDigest + R"(","size":1})";
  }
  EXPECT_EQ(error_of(index_with(entries)),
            "manifest.manifests holds 10001 entries; at most 10000 are accepted");
}

TEST(ManifestParser, SerializedManifestParsesBackIdentically) {
  ParsedManifest m = parse_manifest(oci_manifest(), "");
  const std::string out = serialize_oci_manifest(*m.config, m.layers, {{"k", "v"}});
  ParsedManifest back = parse_manifest(out, media_type::kOciManifest);
  EXPECT_EQ(back.config, m.config);
  EXPECT_EQ(back.layers, m.layers);
  EXPECT_EQ(back.annotations.at("k"), "v");
  EXPECT_EQ(serialize_oci_manifest(*m.config, m.layers, {{"k", "v"}}), out);
}

TEST(ManifestParser, SerializesIndexWithPlatform) {
  Descriptor d{.media_type = std::string(media_type::kOciManifest),
               .digest = Digest::parse(kLayerDigest),
               .size = 10};
  d.platform = Platform::parse("linux/arm64/v8");
  EXPECT_EQ(
      serialize_oci_index({d}),
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",)"
      R"("manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("digest":")" +
          kLayerDigest +
          R"(","size":10,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}}]})");
}

TEST(Platform, ParsesAndMatches) {
  Platform p = Platform::parse("linux/arm64");
  EXPECT_TRUE((Platform{.os = "linux", .architecture = "arm64", .variant = "v8"}).matches(p));
  EXPECT_FALSE(p.matches(Platform::parse("linux/arm64/v8")));
  EXPECT_THROW(Platform::parse("linux"), InputError);
  EXPECT_THROW(Platform::parse("linux//v8"), InputError);
}

TEST(ImageConfig, ParsesDiffIdsAndHistory) {
  const std::string bytes =
      R"({"architecture":"amd64","os":"linux","created":"2024-01-01T00:00:00Z",)"
      R"("rootfs":{"type":"layers","diff_ids":[")" +
      kLayerDigest +
      R"("]},)"
      R"("history":[{"created_by":"COPY x /","empty_layer":true}]})";
  ImageConfig c = parse_image_config(bytes);
  EXPECT_EQ(c.platform.str(), "linux/amd64");
  ASSERT_EQ(c.diff_ids.size(), 1u);
  EXPECT_EQ(c.diff_ids[0].str(), kLayerDigest);
  ASSERT_EQ(c.history.size(), 1u);
  EXPECT_EQ(c.history[0].created_by, "COPY x /");
  EXPECT_TRUE(c.history[0].empty_layer);
  EXPECT_EQ(c.digest, Digest::of(bytes));
}

TEST(ImageConfig, RefusesWrongRootfsType) {
  try {
    parse_image_config(
        R"({"architecture":"amd64","os":"linux","rootfs":{"type":"x","diff_ids":[]}})");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "config.rootfs.type must be \"layers\" (found \"x\")");
  }
}

}  // namespace
}  // namespace ecr
