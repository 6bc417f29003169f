// UploadLayerPart's part taken from where its base64 lies in the body
// (layer_part_body.hpp, Operations::invoke with a scratch): found only in the
// plain shape, and every other shape answered exactly as the parser answers.
#include "server/layer_part_body.hpp"
#include "server/layer_part_intake.hpp"

#include <gtest/gtest.h>

#include <cstring>
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
           std::string(R"({"layerPartBlob":"QU\/D"})"),  // an escape in the value
           std::string(R"({"layerPartBlob":"QUJD","layerPartBlob":"QUJD"})"),  // twice
           std::string(R"({"layerPart\u0042lob":"QUJD"})"),                    // an escaped key
           std::string(R"({"layerPartBlob":12})"),                             // not a string
           std::string(R"({"other":{"layerPartBlob":"QUJD"}})"),  // not at the top level
           std::string(R"(["layerPartBlob","QUJD"])"),            // not an object
           std::string(R"({"layerPartBlob":"QUJD")"),             // no end
           std::string(R"({"layerPartBlob":"QUJD)"),              // a string with no end
       }) {
    EXPECT_FALSE(find_plain_string_member(json, "layerPartBlob").has_value()) << json;
  }
}

TEST(FindPlainStringMember, StepsOverAKnownStringWithoutScanningIt) {
  const std::string json = R"({"a":"x","layerPartBlob":"QUJD","b":1})";
  const StringSpan known{std::string_view(json).find("QUJD"),
                         std::string_view(json).find("QUJD") + 4};
  const auto span = find_plain_string_member(json, "layerPartBlob", known);
  ASSERT_TRUE(span.has_value());
  EXPECT_EQ(span->begin, known.begin);
  EXPECT_EQ(span->end, known.end);
  // A known end that is not the string's closing quote is not the plain shape.
  EXPECT_FALSE(
      find_plain_string_member(json, "layerPartBlob", StringSpan{known.begin, known.end - 1})
          .has_value());
  EXPECT_FALSE(find_plain_string_member(json, "layerPartBlob", StringSpan{known.begin, json.size()})
                   .has_value());
  // A second member of that name is still found, known or not.
  const std::string twice = json.substr(0, json.size() - 1) + R"(,"layerPartBlob":"QUJD"})";
  EXPECT_FALSE(find_plain_string_member(twice, "layerPartBlob", known).has_value());
}

TEST(FindStringMemberStart, FindsTheStringOnceItsQuoteArrives) {
  const std::string json =
      R"( { "uploadId" : "u-1", "partFirstByte":0 ,"n":{"x":["]"]},"layerPartBlob":"QUJD"})";
  const std::size_t quote = json.find("\"QUJD");
  for (std::size_t n = 0; n <= quote; ++n) {
    EXPECT_EQ(find_string_member_start(json.substr(0, n), "layerPartBlob").state,
              MemberStart::State::kIncomplete)
        << n;
  }
  for (std::size_t n = quote + 1; n <= json.size(); ++n) {
    const MemberStart start = find_string_member_start(json.substr(0, n), "layerPartBlob");
    EXPECT_EQ(start.state, MemberStart::State::kFound) << n;
    EXPECT_EQ(start.value_begin, quote + 1) << n;
  }
}

TEST(FindStringMemberStart, RefusesWhatCannotLeadToThePlainShape) {
  for (const std::string& json : {
           std::string(R"(["layerPartBlob","QUJD"])"),        // not an object
           std::string(R"({"layerPart\u0042lob":"QUJD"})"),   // an escaped key
           std::string(R"({"layerPartBlob":12})"),            // not a string
           std::string(R"({"a":1})"),                         // the object ends first
           std::string(R"({})"),                              // likewise
           std::string(R"({"a":1 "layerPartBlob":"QUJD"})"),  // no comma
           std::string(R"({"a" 1,"layerPartBlob":"QUJD"})"),  // no colon
       }) {
    EXPECT_EQ(find_string_member_start(json, "layerPartBlob").state, MemberStart::State::kNotPlain)
        << json;
  }
}

// A body of `json` given to an intake in pieces of `step` bytes.
struct TakenIn {
  Digest body;
  std::optional<LayerPartIntake::Part> part;
};

TakenIn take_in(const std::string& json, std::size_t step, std::string& part_buffer,
                PartTargetSource targets = {}) {
  simdjson::dom::parser parser;
  LayerPartIntake intake;
  intake.start(json.size(), part_buffer, parser, std::move(targets));
  for (std::size_t at = 0; at < json.size(); at += step) {
    intake.take(json.data() + at, std::min(step, json.size() - at));
  }
  TakenIn out{intake.body_digest(), intake.take_part()};
  return out;
}

std::string patterned(std::size_t n, unsigned seed) {
  std::string bytes(n, '\0');
  for (std::size_t i = 0; i < n; ++i) bytes[i] = static_cast<char>((i * 131 + seed * 7) % 251);
  return bytes;
}

// Whatever the pieces the body arrives in (a quad split across them, the
// blob's start and end inside one), the intake's part is the blob decoded,
// its payload hash the body's, and the layer digest it was given is fed the
// part: equal to one fed the same bytes at once.
TEST(LayerPartIntake, DecodesAndDigestsThePartWhateverThePieces) {
  const std::string earlier = patterned(1000, 1);  // the upload's bytes before this part
  for (std::size_t size :
       {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{4095}, std::size_t{100000}}) {
    const std::string part = patterned(size, 2);
    const std::string json = R"({"uploadId":"u-9","partFirstByte":1000,"layerPartBlob":")" +
                             base64::encode(part) + R"(","partLastByte":)" +
                             std::to_string(999 + size) + R"(,"repositoryName":"app"})";
    for (std::size_t step : {std::size_t{1}, std::size_t{3}, std::size_t{5}, std::size_t{64},
                             std::size_t{4099}, json.size()}) {
      std::string asked_id;
      std::int64_t asked_at = -1;
      auto source = [&](const std::string& id, std::int64_t first_byte) {
        asked_id = id;
        asked_at = first_byte;
        PartTarget target{Sha256Lane(), nullptr};
        target.hash->update(earlier.data(), earlier.size());
        return target;
      };
      std::string buffer;
      TakenIn got = take_in(json, step, buffer, source);
      EXPECT_EQ(got.body, Digest::of(json)) << size << " bytes in steps of " << step;
      ASSERT_TRUE(got.part.has_value()) << size << " bytes in steps of " << step;
      EXPECT_EQ(got.part->bytes, part) << size << " bytes in steps of " << step;
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(got.part->bytes.data()) % kLayerPartAlignment, 0u);
      EXPECT_EQ(json.substr(got.part->blob.begin, got.part->blob.end - got.part->blob.begin),
                base64::encode(part));
      EXPECT_EQ(got.part->upload_id, "u-9");
      EXPECT_EQ(got.part->first_byte, 1000);
      EXPECT_EQ(asked_id, "u-9");
      EXPECT_EQ(asked_at, 1000);
      ASSERT_TRUE(got.part->layer_hash.has_value());
      EXPECT_EQ(got.part->layer_hash->finish(), Digest::of(earlier + part));
    }
  }
}

// A warm buffer (larger than the part, as a pooled scratch's is) is used
// where it is, the part aligned in it; without the members before the blob
// no digest is asked for, and the part is still decoded.
TEST(LayerPartIntake, UsesAWarmBufferAndNeedsNoMembersBeforeTheBlob) {
  const std::string part = patterned(70000, 3);
  const std::string json =
      R"({"layerPartBlob":")" + base64::encode(part) + R"(","uploadId":"u","partFirstByte":0})";
  std::string buffer(1 << 20, 'x');
  bool asked = false;
  TakenIn got = take_in(json, 8192, buffer, [&](const std::string&, std::int64_t) {
    asked = true;
    return PartTarget();
  });
  ASSERT_TRUE(got.part.has_value());
  EXPECT_EQ(got.part->bytes, part);
  EXPECT_EQ(buffer.size(), std::size_t{1} << 20);  // neither shrunk nor regrown
  EXPECT_FALSE(asked);
  EXPECT_FALSE(got.part->layer_hash.has_value());
  EXPECT_TRUE(got.part->upload_id.empty());
  EXPECT_EQ(got.body, Digest::of(json));
}

// A body the intake does not follow gives no part (the handler then decodes
// it from the buffered bytes, with that path's errors), and is still hashed.
TEST(LayerPartIntake, GivesNoPartForABodyOfAnotherShape) {
  const std::string big(LayerPartIntake::kMaxPrefixBytes, 'a');
  for (
      const std::string& json : {
          std::string(R"({"uploadId":"u","partFirstByte":0,"layerPartBlob":"QU\/D"})"),
          std::string(R"({"layerPartBlob":"QUJ!"})"),      // not base64
          std::string(R"({"layerPartBlob":"QUJDR"})"),     // not whole quads
          std::string(R"({"layerPartBlob":"QQ==QUJD"})"),  // characters after the padding
          std::string(R"({"layerPartBlob":12})"),          // not a string
          std::string(R"({"layerPartBlob":"QUJD)"),        // no closing quote
          std::string(R"({"a":")") + big + R"(","layerPartBlob":"QUJD"})",  // past the prefix cap
          std::string(R"(["layerPartBlob","QUJD"])"),
          // the string ends inside a quad split between two pieces (found
          // by layer_part_fuzz)
          std::string(
              R"({"uploadId":"u","p&rtFirstByte":0,"layerPartBlob":"tBlobstBe":0o,"layerPartBlob":"QU,"lAye:"":"a"})"),
          std::string(R"({"layerPartBlob":"QUJDR","x":"AAAA"})"),
      }) {
    for (std::size_t step = 1; step <= 17; ++step) {
      std::string buffer;
      TakenIn got = take_in(json, step, buffer);
      EXPECT_FALSE(got.part.has_value()) << json.substr(0, 80) << " in steps of " << step;
      EXPECT_EQ(got.body, Digest::of(json));
    }
  }
}

TEST(LayerPartIntake, APartOverTheModelLimitIsLeftToTheParser) {
  const std::string part(kMaxLayerPartBytes + 1, 'a');
  const std::string json = R"({"layerPartBlob":")" + base64::encode(part) + "\"}";
  std::string buffer;
  EXPECT_FALSE(take_in(json, 1 << 20, buffer).part.has_value());
}

TEST(LayerPartIntake, GivesNothingForABodyNotWhollyTakenOrCleared) {
  const std::string json = R"({"layerPartBlob":"QUJD"})";
  simdjson::dom::parser parser;
  std::string buffer;
  LayerPartIntake intake;
  intake.start(json.size() + 1, buffer, parser, {});  // one byte never comes
  intake.take(json.data(), json.size());
  EXPECT_FALSE(intake.take_part().has_value());
  intake.start(json.size(), buffer, parser, {});
  intake.take(json.data(), json.size());
  intake.clear();
  EXPECT_FALSE(intake.take_part().has_value());
  intake.start(json.size(), buffer, parser, {});
  intake.take(json.data(), json.size());
  ASSERT_TRUE(intake.take_part().has_value());
  EXPECT_FALSE(intake.take_part().has_value());  // once per body
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

  // UploadLayerPart of `json` for upload `id`, through the listener's intake
  // as ecr-local takes a body in (`json` given in pieces of `step` bytes,
  // the upload's digest and file taken from the registry), or with no intake
  // when `step` is 0. Returns the error's name, or "" and the bytes stored
  // in `stored`.
  std::string upload_json(const std::string& json, std::size_t step, std::string& stored,
                          const std::string& id) {
    RequestScratch scratch;
    if (step > 0) {
      scratch.intake.start(json.size(), scratch.part, scratch.parser,
                           [this](const std::string& upload_id, std::int64_t first_byte) {
                             return PartTarget{registry_->take_upload_hash(upload_id, first_byte),
                                               registry_->receive_part(upload_id, first_byte)};
                           });
      for (std::size_t at = 0; at < json.size(); at += step) {
        scratch.intake.take(json.data() + at, std::min(step, json.size() - at));
      }
      (void)scratch.intake.body_digest();
    }
    scratch.body = json;
    scratch.body.reserve(scratch.body.size() + simdjson::SIMDJSON_PADDING);
    try {
      operations_->invoke("UploadLayerPart", scratch, RequestContext{});
    } catch (const ServiceError& e) {
      return e.name();
    }
    stored = received(id);
    return "";
  }

  std::string complete(const std::string& id, const std::string& digest) {
    try {
      return registry_->complete_upload("app", id, {digest});
    } catch (const ServiceError& e) {
      return e.name();
    }
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

// Parts taken in as they arrive are stored as the buffered path stores them,
// and the layer digest the intake fed them is the one completion checks: no
// re-read of the file, the right digest accepted, a wrong one refused.
TEST_F(LayerPartBody, PartsTakenInAsTheyArriveFeedTheDigestCompletionChecks) {
  const std::string first = patterned(6 << 20, 4);
  const std::string second = patterned(70001, 5);
  for (const bool right : {true, false}) {
    const std::string id = registry_->initiate_upload("app");
    auto body = [&](const std::string& part, std::int64_t at) {
      return R"({"uploadId":")" + id + R"(","partFirstByte":)" + std::to_string(at) +
             R"(,"layerPartBlob":")" + base64::encode(part) + R"(","partLastByte":)" +
             std::to_string(at + static_cast<std::int64_t>(part.size()) - 1) +
             R"(,"repositoryName":"app"})";
    };
    std::string stored;
    ASSERT_EQ(upload_json(body(first, 0), 1 << 20, stored, id), "");
    ASSERT_EQ(upload_json(body(second, static_cast<std::int64_t>(first.size())), 4099, stored, id),
              "");
    EXPECT_EQ(stored, first + second);
    EXPECT_EQ(registry_->upload_hashes().size(), 1u);  // fed, not dropped
    const std::string digest = Digest::of(first + second).str();
    const std::string wrong = Digest::of(first).str();
    if (right) {
      EXPECT_EQ(complete(id, digest), digest);
    } else {
      EXPECT_EQ(complete(id, wrong), "InvalidLayerException");
    }
  }
}

// Every body the intake does not follow, or follows only part of the way,
// is answered exactly as without it: the same error, or the same bytes.
TEST_F(LayerPartBody, AnyBodyIsAnsweredAsWithoutTheIntake) {
  const std::string part = patterned(5000, 6);
  const std::string b64 = base64::encode(part);
  for (
      const std::string& shape : {
          // the plain shape, members in ecr-push's order and in another
          std::string(
              R"({"uploadId":"@","partFirstByte":0,"layerPartBlob":"@B","partLastByte":4999,"repositoryName":"app"})"),
          std::string(
              R"({"repositoryName":"app","layerPartBlob":"@B","uploadId":"@","partFirstByte":0,"partLastByte":4999})"),
          // a second blob member after the one the intake decoded
          std::string(
              R"({"uploadId":"@","partFirstByte":0,"layerPartBlob":"@B","partLastByte":4999,"repositoryName":"app","layerPartBlob":"QUJD"})"),
          // the members before the blob disagree with the parse
          std::string(
              R"({"uploadId":"other","partFirstByte":0,"layerPartBlob":"@B","partLastByte":4999,"repositoryName":"app","uploadId":"@"})"),
          std::string(
              R"({"uploadId":"@","partFirstByte":7,"layerPartBlob":"@B","partLastByte":4999,"repositoryName":"app"})"),
          // broken after the blob, or in it
          std::string(
              R"({"uploadId":"@","partFirstByte":0,"layerPartBlob":"@B","partLastByte":4999,"repositoryName":"app")"),
          std::string(
              R"({"uploadId":"@","partFirstByte":0,"layerPartBlob":"@B",,"partLastByte":4999,"repositoryName":"app"})"),
          std::string(
              R"({"uploadId":"@","partFirstByte":0,"layerPartBlob":"@B!","partLastByte":4999,"repositoryName":"app"})"),
          std::string(
              R"({"uploadId":"@","partFirstByte":0,"layerPartBlob":"@B","partLastByte":4998,"repositoryName":"app"})"),
          std::string(
              R"({"uploadId":"@","partFirstByte":0,"layerPartBlob":"@B","partLastByte":"4999","repositoryName":"app"})"),
      }) {
    std::string outcomes[2];
    std::string stored[2];
    for (int with_intake = 0; with_intake < 2; ++with_intake) {
      const std::string id = registry_->initiate_upload("app");
      std::string json = shape;
      for (std::size_t at; (at = json.find("@B")) != std::string::npos;) json.replace(at, 2, b64);
      for (std::size_t at; (at = json.find('@')) != std::string::npos;) json.replace(at, 1, id);
      outcomes[with_intake] = upload_json(json, with_intake ? 977 : 0, stored[with_intake], id);
    }
    EXPECT_EQ(outcomes[1], outcomes[0]) << shape;
    EXPECT_EQ(stored[1], stored[0]) << shape;
  }
}

// A block-aligned copy of `bytes`, as the intake's part buffer holds them.
class AlignedBytes {
 public:
  explicit AlignedBytes(std::string_view bytes)
      : buffer_(bytes.size() + kLayerPartAlignment, '\0') {
    at_ = layer_part_skew(buffer_.data());
    std::memcpy(buffer_.data() + at_, bytes.data(), bytes.size());
    size_ = bytes.size();
  }
  const char* data() const { return buffer_.data() + at_; }
  std::string_view view() const { return std::string_view(data(), size_); }

 private:
  std::string buffer_;
  std::size_t at_ = 0;
  std::size_t size_ = 0;
};

// A part written while it arrives writes past the upload's end, where
// nothing counts until the registry accepts it. The client's second try of
// a stalled part takes the upload over (the first writes nothing more and is
// refused, its bytes left to the second); a request the registry refuses
// takes its bytes away with it; a completion stops a part still arriving,
// which then leaves the blob alone.
TEST_F(LayerPartBody, APartWrittenAsItArrivesCountsOnlyOnceAccepted) {
  const std::string id = registry_->initiate_upload("app");
  const std::string first = patterned(5 << 20, 7);
  ASSERT_EQ(
      registry_->upload_part("app", id, 0, static_cast<std::int64_t>(first.size()) - 1, first),
      static_cast<std::int64_t>(first.size()) - 1);
  const auto at = static_cast<std::int64_t>(first.size());
  // Not where the upload ends, not block-aligned, no such upload: nothing.
  EXPECT_EQ(registry_->receive_part(id, 0), nullptr);
  EXPECT_EQ(registry_->receive_part(id, at + 1), nullptr);
  EXPECT_EQ(registry_->receive_part("00000000-0000-0000-0000-000000000000", 0), nullptr);

  const std::string second = patterned(3 << 20, 8);
  const AlignedBytes part(second);
  const auto last = at + static_cast<std::int64_t>(second.size()) - 1;
  std::unique_ptr<IncomingPart> stalled = registry_->receive_part(id, at);
  ASSERT_NE(stalled, nullptr);
  stalled->write_up_to(part.data(), 512 << 10);  // waits for a larger write
  EXPECT_EQ(stalled->written(), 0u);
  stalled->write_up_to(part.data(), 1 << 20);
  EXPECT_EQ(stalled->written(), std::size_t{1} << 20);
  EXPECT_EQ(received(id).size(), first.size() + (1 << 20));

  std::unique_ptr<IncomingPart> again = registry_->receive_part(id, at);
  ASSERT_NE(again, nullptr);
  stalled->write_up_to(part.data(), 2 << 20);  // stopped: writes nothing more
  EXPECT_EQ(stalled->written(), std::size_t{1} << 20);
  again->write_up_to(part.data(), 2 << 20);
  EXPECT_EQ(registry_->upload_part("app", id, at, last, part.view(), std::nullopt, again.get()),
            last);
  again.reset();
  EXPECT_THROW(
      registry_->upload_part("app", id, at, last, part.view(), std::nullopt, stalled.get()),
      api::InvalidLayerPartException);
  stalled.reset();  // taken over: leaves the accepted bytes alone
  EXPECT_EQ(received(id), first + second);

  // Refused by the registry (the upload is not in that repository).
  RepositoryInfo other;
  other.name = "other";
  registry_->create_repository(other, {});
  const auto end = static_cast<std::int64_t>(first.size() + second.size());
  ASSERT_EQ(end % 4096, 0);
  {
    std::unique_ptr<IncomingPart> refused = registry_->receive_part(id, end);
    ASSERT_NE(refused, nullptr);
    refused->write_up_to(part.data(), 1 << 20);
    EXPECT_EQ(received(id).size(), first.size() + second.size() + (1 << 20));
    EXPECT_THROW(
        registry_->upload_part("other", id, end, end + (1 << 20) - 1,
                               part.view().substr(0, 1 << 20), std::nullopt, refused.get()),
        api::UploadNotFoundException);
  }
  EXPECT_EQ(received(id), first + second);

  // Completed while a part still arrives: the blob is what was accepted.
  std::unique_ptr<IncomingPart> late = registry_->receive_part(id, end);
  ASSERT_NE(late, nullptr);
  const std::string digest = Digest::of(first + second).str();
  EXPECT_EQ(complete(id, digest), digest);
  late->write_up_to(part.data(), 1 << 20);
  EXPECT_EQ(late->written(), 0u);
  late.reset();
  EXPECT_EQ(fs::file_size(registry_->blobs().blob_path(Digest::parse(digest))),
            first.size() + second.size());
}

}  // namespace
}  // namespace ecr::server
