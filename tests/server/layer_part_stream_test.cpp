// UploadLayerPart's part written while its body arrives (layer_part_stream.hpp):
// the prefix scan reads only the plain shape, the part on disk is the part in
// the body whatever the pieces, and every body or session the stream does not
// take is left to the buffered path with nothing written and no claim held.
#include "server/layer_part_stream.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iterator>
#include <random>

#include "core/base64.hpp"
#include "ecr/digest.hpp"
#include "ecr/service_errors.hpp"
#include "server/download_url.hpp"
#include "server/operations.hpp"
#include "server/registry.hpp"

namespace ecr::server {
namespace {

namespace fs = std::filesystem;

// --- scan_part_prefix -------------------------------------------------------

constexpr std::string_view kPrefix =
    R"( { "registryId" : "000000000000", "repositoryName":"team/app",)"
    R"("uploadId":"0b9a", "partFirstByte" : 10485760,"partLastByte":20971519,)"
    R"("layerPartBlob":")";

TEST(ScanPartPrefix, ReadsTheMembersBeforeTheBlob) {
  PartPrefix prefix;
  const std::string text = std::string(kPrefix) + "QUJD\"}";
  ASSERT_EQ(scan_part_prefix(text, prefix), PrefixScan::kFound);
  EXPECT_EQ(prefix.blob_begin, kPrefix.size());
  EXPECT_EQ(prefix.repository_name, "team/app");
  EXPECT_EQ(prefix.upload_id, "0b9a");
  EXPECT_EQ(prefix.part_first_byte, 10485760);
}

TEST(ScanPartPrefix, AskForMoreAtEveryCutBeforeTheBlob) {
  for (std::size_t cut = 0; cut < kPrefix.size(); ++cut) {
    PartPrefix prefix;
    EXPECT_EQ(scan_part_prefix(kPrefix.substr(0, cut), prefix), PrefixScan::kNeedMore)
        << kPrefix.substr(0, cut);
  }
  PartPrefix prefix;
  EXPECT_EQ(scan_part_prefix(kPrefix, prefix), PrefixScan::kFound);
}

TEST(ScanPartPrefix, LeavesEveryOtherShapeToTheParser) {
  const std::string tail = R"(,"partFirstByte":0,"layerPartBlob":"QUJD"})";
  for (const std::string& text : {
           std::string(R"({"repositoryName":"a","uploadId":"u","partFirstByte":-1,"layerPartBlob":"")"),
           std::string(R"({"repositoryName":"a","uploadId":"u","partFirstByte":01,"layerPartBlob":"")"),
           std::string(R"({"repositoryName":"a","uploadId":"u","partFirstByte":1.0,"layerPartBlob":"")"),
           std::string(R"({"repositoryName":"a","uploadId":"u","partFirstByte":1e3,"layerPartBlob":"")"),
           std::string(R"({"repositoryName":"a","uploadId":"u","partFirstByte":"1","layerPartBlob":"")"),
           std::string(R"({"repositoryName":"a","uploadId":"u","partFirstByte":1234567890123456789,"layerPartBlob":"")"),
           std::string(R"({"repositoryName":"a\/b","uploadId":"u")") + tail,       // an escape
           std::string(R"({"repositoryName":"a","upload\u0049d":"u")") + tail,     // an escaped key
           std::string(R"({"repositoryName":"a","uploadId":"u","uploadId":"v")") + tail,  // twice
           std::string(R"({"repositoryName":"a","uploadId":7)") + tail,            // not a string
           std::string(R"({"repositoryName":"a","partFirstByte":0,"layerPartBlob":"QUJD","uploadId":"u"})"),
           std::string(R"({"repositoryName":"a","uploadId":"u","partFirstByte":0,"layerPartBlob":null})"),
           std::string(R"({"repositoryName":"a","uploadId":"u","partFirstByte":0})"),  // no blob
           std::string(R"(["repositoryName","a"])"),
           std::string(R"({"repositoryName" "a"})"),
       }) {
    PartPrefix prefix;
    EXPECT_EQ(scan_part_prefix(text, prefix), PrefixScan::kNotPlain) << text;
  }
}

// --- LayerPartStream against a registry ------------------------------------

class LayerPartStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("ecr-layer-part-stream-test-" + std::to_string(std::random_device{}()));
    fs::create_directories(root_);
    registry_ = std::make_unique<Registry>(root_, RegistrySettings{});
    signer_ = std::make_unique<DownloadSigner>(root_ / "download-url.key");
    tokens_ = std::make_unique<RegistryTokens>(root_ / "registry-token.key");
    operations_ =
        std::make_unique<Operations>(*registry_, *signer_, *tokens_, std::chrono::hours(1));
    RepositoryInfo info;
    info.name = "app";
    registry_->create_repository(info, {});
    id_ = registry_->initiate_upload("app");
  }
  void TearDown() override {
    operations_.reset();
    registry_.reset();
    fs::remove_all(root_);
  }

  // A part of `n` bytes that differ from one another's neighbours.
  static std::string part_of(std::size_t n, unsigned seed) {
    std::string part(n, '\0');
    std::mt19937 random(seed);
    for (auto& c : part) c = static_cast<char>(random());
    return part;
  }

  std::string body_for(std::string_view part, std::int64_t first,
                       std::string_view blob_json = {}) const {
    const std::string blob = blob_json.empty() ? base64::encode(part) : std::string(blob_json);
    return R"({"repositoryName":"app","uploadId":")" + id_ + R"(","partFirstByte":)" +
           std::to_string(first) + R"(,"partLastByte":)" +
           std::to_string(first + static_cast<std::int64_t>(part.size()) - 1) +
           R"(,"layerPartBlob":")" + blob + "\"} \n";
  }

  // Passes `body` to a stream in pieces of `piece` bytes.
  std::shared_ptr<LayerPartStream> stream(const std::string& body, std::size_t piece) {
    auto s = std::make_shared<LayerPartStream>(*registry_, scratches_, body.size());
    for (std::size_t at = 0; at < body.size(); at += piece) {
      EXPECT_TRUE(s->write(std::string_view(body).substr(at, piece)));
    }
    return s;
  }

  // The request answered as the server answers it: the body's scratch and
  // the streamed part (when there is one) through Operations::invoke.
  std::string answer(LayerPartStream& s, std::optional<StreamedPart>& part) {
    auto body = s.take_body();
    RequestContext context;
    if (part) context.streamed_part = &*part;
    return operations_->invoke("UploadLayerPart", **body, context);
  }

  std::string file() const {
    std::ifstream in(root_ / "uploads" / id_);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  fs::path root_;
  ScratchPool scratches_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<DownloadSigner> signer_;
  std::unique_ptr<RegistryTokens> tokens_;
  std::unique_ptr<Operations> operations_;
  std::string id_;
};

TEST_F(LayerPartStreamTest, ThePartOnDiskIsThePartWhateverThePieces) {
  // Two parts of one upload: 5 MiB + 12 KiB + 5 bytes (aligned blocks for
  // direct I/O and a tail through the page cache), then 777 bytes more.
  for (const std::size_t piece : {std::size_t{1} << 20, std::size_t{4093}, std::size_t{7}}) {
    SCOPED_TRACE(piece);
    // Other bytes each round: a layer is completed once per repository.
    const auto seed = static_cast<unsigned>(piece);
    const std::string first = part_of((5u << 20) + 12 * 1024 + 5, seed);
    const std::string second = part_of(777, seed + 1);
    id_ = registry_->initiate_upload("app");
    auto s1 = stream(body_for(first, 0), piece);
    auto part1 = s1->take_part();
    ASSERT_TRUE(part1.has_value());
    EXPECT_NE(answer(*s1, part1).find(R"("lastByteReceived":)" + std::to_string(first.size() - 1)),
              std::string::npos);
    auto s2 = stream(body_for(second, static_cast<std::int64_t>(first.size())), piece);
    auto part2 = s2->take_part();
    ASSERT_TRUE(part2.has_value());
    answer(*s2, part2);
    EXPECT_EQ(file(), first + second);
    EXPECT_EQ(registry_->upload_size("app", id_),
              static_cast<std::int64_t>(first.size() + second.size()));
    // The running digest was fed as the parts were written.
    const std::string digest = Digest::of(first + second).str();
    EXPECT_EQ(registry_->complete_upload("app", id_, {digest}), digest);
  }
}

TEST_F(LayerPartStreamTest, BodiesItDoesNotReadAreAnsweredWhole) {
  const std::string part = part_of(64 * 1024 + 3, 3);
  const std::string base64_text = base64::encode(part);
  std::string escaped;
  for (char c : base64_text) escaped += c == '/' ? std::string("\\/") : std::string(1, c);
  std::string padded_early = base64_text;
  padded_early.insert(8, "QQ==");  // padding before the end
  auto blob_first = [&] {
    return R"({"layerPartBlob":")" + base64_text + R"(","repositoryName":"app","uploadId":")" +
           id_ + R"(","partFirstByte":0,"partLastByte":)" + std::to_string(part.size() - 1) + "}";
  };
  auto member_after = [&] {
    std::string body = body_for(part, 0);
    return body.substr(0, body.rfind('}')) + R"(,"registryId":"000000000000"})";
  };
  struct Case {
    std::string name;
    std::function<std::string()> body;
    bool accepted;
  };
  for (const Case& c : {
           Case{"escaped base64", [&] { return body_for(part, 0, escaped); }, true},
           Case{"blob before the ids", blob_first, true},
           Case{"a member after the blob", member_after, true},
           Case{"padding before the end", [&] { return body_for(part, 0, padded_early); }, false},
           Case{"a character outside base64",
                [&] { return body_for(part, 0, "QUJD!" + base64_text); }, false},
           Case{"another first byte", [&] { return body_for(part, 5); }, false},
       }) {
    SCOPED_TRACE(c.name);
    id_ = registry_->initiate_upload("app");
    auto s = stream(c.body(), 4096);
    auto taken = s->take_part();
    EXPECT_FALSE(taken.has_value());
    // Nothing was left past the session's end, and no claim is held: the
    // buffered path answers as it always did.
    EXPECT_EQ(fs::exists(root_ / "uploads" / id_) ? fs::file_size(root_ / "uploads" / id_) : 0u,
              0u);
    if (c.accepted) {
      answer(*s, taken);
      EXPECT_EQ(file(), part);
    } else {
      EXPECT_THROW(answer(*s, taken), ServiceError);
      EXPECT_EQ(registry_->upload_size("app", id_), 0);
    }
  }
}

TEST_F(LayerPartStreamTest, APartNotCommittedLeavesTheSessionAsItWas) {
  const std::string first = part_of(5u << 20, 4);
  auto s1 = stream(body_for(first, 0), 1u << 20);
  auto part1 = s1->take_part();
  ASSERT_TRUE(part1.has_value());
  answer(*s1, part1);

  const std::string second = part_of(1u << 20, 5);
  auto s2 = stream(body_for(second, static_cast<std::int64_t>(first.size())), 1u << 20);
  auto part2 = s2->take_part();
  ASSERT_TRUE(part2.has_value());
  // While the part is being written, the session is not completed.
  EXPECT_THROW(registry_->complete_upload("app", id_, {Digest::of(first).str()}),
               api::InvalidLayerException);
  // A request refused before the handler (its signature, say): the part goes.
  part2.reset();
  EXPECT_EQ(file(), first);
  EXPECT_EQ(registry_->upload_size("app", id_), static_cast<std::int64_t>(first.size()));
  // The session takes that part again, and completes with the right digest.
  registry_->upload_part("app", id_, static_cast<std::int64_t>(first.size()),
                         static_cast<std::int64_t>(first.size() + second.size()) - 1, second);
  EXPECT_EQ(registry_->complete_upload("app", id_, {Digest::of(first + second).str()}),
            Digest::of(first + second).str());
}

// A client that gave up on a part (a stall) sends it again on another
// connection while the first request still waits for its body: the later
// request takes the session over, and the first one writes, truncates and
// records nothing from then on.
TEST_F(LayerPartStreamTest, ALaterRequestForThePartTakesOver) {
  const std::string first = part_of(5u << 20, 7);
  auto s1 = stream(body_for(first, 0), 1u << 20);
  auto part1 = s1->take_part();
  ASSERT_TRUE(part1.has_value());
  answer(*s1, part1);
  const std::string second = part_of(2u << 20, 8);
  const auto at = static_cast<std::int64_t>(first.size());
  const std::string body = body_for(second, at);
  // The stalled request: half its body arrived.
  auto stalled = std::make_shared<LayerPartStream>(*registry_, scratches_, body.size());
  EXPECT_TRUE(stalled->write(std::string_view(body).substr(0, body.size() / 2)));
  // The resend, taken whole, supersedes it.
  EXPECT_EQ(registry_->upload_part("app", id_, at, at + static_cast<std::int64_t>(second.size()) - 1,
                                   second),
            at + static_cast<std::int64_t>(second.size()) - 1);
  // The stalled body goes on arriving; its part is not recorded.
  EXPECT_TRUE(stalled->write(std::string_view(body).substr(body.size() / 2)));
  EXPECT_FALSE(stalled->take_part().has_value());
  stalled.reset();
  EXPECT_EQ(file(), first + second);
  EXPECT_EQ(registry_->complete_upload("app", id_, {Digest::of(first + second).str()}),
            Digest::of(first + second).str());
}

TEST_F(LayerPartStreamTest, TheRequestsChecksStillApply) {
  const std::string part = part_of(100 * 1024, 6);
  // The range does not match the part: InvalidLayerPartException, nothing kept.
  std::string body = body_for(part, 0);
  const std::string last = R"("partLastByte":)" + std::to_string(part.size() - 1);
  body.replace(body.find(last), last.size(), R"("partLastByte":)" + std::to_string(part.size()));
  auto s = stream(body, 1u << 20);
  auto taken = s->take_part();
  ASSERT_TRUE(taken.has_value());
  EXPECT_THROW(answer(*s, taken), api::InvalidLayerPartException);
  taken.reset();
  EXPECT_EQ(file(), "");
  EXPECT_EQ(registry_->upload_size("app", id_), 0);
  // A request that names another session than the one claimed.
  auto other = stream(body_for(part, 0), 1u << 20);
  auto claimed = other->take_part();
  ASSERT_TRUE(claimed.has_value());
  EXPECT_THROW(registry_->commit_streamed_part(*claimed->append, "app", "other", 0,
                                               static_cast<std::int64_t>(part.size()) - 1),
               api::ServerException);
}

}  // namespace
}  // namespace ecr::server
