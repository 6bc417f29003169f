// UploadLayerPart's part taken from where its base64 lies in the body
// (layer_part_body.hpp, Operations::invoke with a scratch): found only in the
// plain shape, and every other shape answered exactly as the parser answers.
#include "server/layer_part_body.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "core/base64.hpp"
#include "ecr/service_errors.hpp"
#include "server/download_url.hpp"
#include "server/operations.hpp"
#include "server/registry.hpp"

namespace ecr::server {
namespace {

namespace fs = std::filesystem;

std::string_view span_text(std::string_view json, const std::optional<StringSpan>& span) {
  return json.substr(span->begin, span->end - span->begin);
}

TEST(FindPlainStringMember, FindsTheValueAmongOtherMembers) {
  const std::string json =
      R"({"registryId":"0","nested":{"a":["}",{"b":"\"x\""}]},"n":-1.5e3,"t":true,)"
      R"( "layerPartBlob" : "QUJD" ,"uploadId":"u"})";
  const auto span = find_plain_string_member(json, "layerPartBlob");
  ASSERT_TRUE(span.has_value());
  EXPECT_EQ(span_text(json, span), "QUJD");
}

TEST(FindPlainStringMember, LeavesEveryOtherShapeToTheParser) {
  for (const std::string& json : {
           std::string(R"({"layerPartBlob":"QU\/D"})"),            // an escape in the value
           std::string(R"({"layerPartBlob":"QUJD","layerPartBlob":"QUJD"})"),  // twice
           std::string(R"({"layerPart\u0042lob":"QUJD"})"),        // an escaped key
           std::string(R"({"layerPartBlob":12})"),                  // not a string
           std::string(R"({"other":{"layerPartBlob":"QUJD"}})"),    // not at the top level
           std::string(R"(["layerPartBlob","QUJD"])"),              // not an object
           std::string(R"({"layerPartBlob":"QUJD")"),               // no end
           std::string(R"({"layerPartBlob":"QUJD)"),                // a string with no end
       }) {
    EXPECT_FALSE(find_plain_string_member(json, "layerPartBlob").has_value()) << json;
  }
}

class LayerPartBody : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("ecr-layer-part-test-" + std::to_string(std::random_device{}()));
    fs::create_directories(root_);
    registry_ = std::make_unique<Registry>(root_, RegistrySettings{});
    signer_ = std::make_unique<DownloadSigner>(root_ / "download-url.key");
    tokens_ = std::make_unique<RegistryTokens>(root_ / "registry-token.key");
    operations_ =
        std::make_unique<Operations>(*registry_, *signer_, *tokens_, std::chrono::hours(1));
    RepositoryInfo info;
    info.name = "app";
    registry_->create_repository(info, {});
  }
  void TearDown() override {
    operations_.reset();
    registry_.reset();
    fs::remove_all(root_);
  }

  // UploadLayerPart of `base64_json` (the blob as it appears in the JSON)
  // through the scratch path, for a new upload; returns the upload id.
  std::string upload(const std::string& base64_json, std::int64_t last_byte) {
    const std::string id = registry_->initiate_upload("app");
    RequestScratch scratch;
    scratch.body = R"({"repositoryName":"app","uploadId":")" + id +
                   R"(","partFirstByte":0,"partLastByte":)" + std::to_string(last_byte) +
                   R"(,"layerPartBlob":")" + base64_json + "\"}";
    scratch.body.reserve(scratch.body.size() + simdjson::SIMDJSON_PADDING);
    operations_->invoke("UploadLayerPart", scratch, RequestContext{});
    return id;
  }

  std::string received(const std::string& id) {
    std::ifstream in(root_ / "uploads" / id);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  fs::path root_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<DownloadSigner> signer_;
  std::unique_ptr<RegistryTokens> tokens_;
  std::unique_ptr<Operations> operations_;
};

TEST_F(LayerPartBody, PlainAndEscapedBase64StoreTheSameBytes) {
  // 0xff bytes encode as '/', which JSON may escape as "\/". 12 KiB + 5: an
  // aligned prefix for direct I/O and a tail through the page cache.
  std::string part(12 * 1024 + 5, '\xff');
  for (std::size_t i = 0; i < part.size(); i += 7) part[i] = static_cast<char>(i);
  const std::string base64_text = base64::encode(part);
  std::string escaped;
  for (char c : base64_text) escaped += c == '/' ? std::string("\\/") : std::string(1, c);
  const auto last = static_cast<std::int64_t>(part.size()) - 1;

  EXPECT_EQ(received(upload(base64_text, last)), part);
  EXPECT_EQ(received(upload(escaped, last)), part);
}

TEST_F(LayerPartBody, InvalidBase64IsASerializationError) {
  try {
    upload("QUJ!", 2);
    FAIL() << "invalid base64 was accepted";
  } catch (const ServiceError& e) {
    EXPECT_EQ(e.name(), "SerializationException");
    EXPECT_NE(std::string(e.what()).find("layerPartBlob"), std::string::npos) << e.what();
  }
}

TEST_F(LayerPartBody, APartOverTheModelLimitIsAnInvalidParameter) {
  const std::string part((20u << 20) + 3, 'a');
  EXPECT_THROW(upload(base64::encode(part), static_cast<std::int64_t>(part.size()) - 1),
               api::InvalidParameterException);
}

}  // namespace
}  // namespace ecr::server
