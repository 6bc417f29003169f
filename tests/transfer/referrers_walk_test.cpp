// The walk with TransferOptions::referrers: referrers are found through the
// source, written after the image byte for byte and listed in the sink; a
// chain longer than kMaxReferrerDepth, a sink that cannot hold referrers and
// an image whose digest compression would change are refused before
// anything is written.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ecr/transfer.hpp"
#include "oci/file_tree.hpp"
#include "oci/oci_layout.hpp"
#include "support/scratch_dir.hpp"
#include "support/string_stream.hpp"
#include "transfer/recording_sink.hpp"

namespace ecr {
namespace {

using testing::RecordingSink;

// Blobs in memory, and the referrers of each subject as the test says.
class ReferringSource final : public ImageSource {
 public:
  Descriptor add(const std::string& bytes, std::string_view media_type) {
    const Digest d = Digest::of(bytes);
    blobs_[d] = bytes;
    return {.media_type = std::string(media_type),
            .digest = d,
            .size = static_cast<std::int64_t>(bytes.size())};
  }
  Descriptor add_image(std::string_view layer_type) {
    const Descriptor config =
        add("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
            "\"diff_ids\":[]}}",
            media_type::kOciConfig);
    const Descriptor layer = add(std::string(300, 'L'), layer_type);
    root_ = add(serialize_oci_manifest(config, {layer}), media_type::kOciManifest);
    return *root_;
  }
  // A referrer of `subject` with one layer; its descriptor as listed.
  Descriptor add_referrer(const Descriptor& subject, int n) {
    const Descriptor empty = add("{}", "application/vnd.oci.empty.v1+json");
    const Descriptor layer = add("referrer " + std::to_string(n), "application/vnd.example");
    const std::string doc =
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
        "\"artifactType\":\"application/vnd.example.n" +
        std::to_string(n) + "\",\"config\":{\"mediaType\":\"" + empty.media_type +
        "\",\"digest\":\"" + empty.digest.str() + "\",\"size\":2},\"layers\":[{\"mediaType\":\"" +
        layer.media_type + "\",\"digest\":\"" + layer.digest.str() +
        "\",\"size\":" + std::to_string(layer.size) + "}],\"subject\":{\"mediaType\":\"" +
        subject.media_type + "\",\"digest\":\"" + subject.digest.str() +
        "\",\"size\":" + std::to_string(subject.size) + "}}";
    Descriptor d = add(doc, media_type::kOciManifest);
    d.artifact_type = "application/vnd.example.n" + std::to_string(n);
    referrers_[subject.digest].push_back(d);
    return d;
  }

  std::vector<ImageEntry> list() override { return {ImageEntry{{"v1"}, *root_}}; }
  std::vector<Descriptor> referrers(const Digest& subject) override {
    ++referrer_calls;
    const auto it = referrers_.find(subject);
    return it == referrers_.end() ? std::vector<Descriptor>{} : it->second;
  }
  int referrer_calls = 0;

 protected:
  std::unique_ptr<ByteStream> open_raw(const Descriptor& d) override {
    return std::make_unique<testing::StringStream>(blobs_.at(d.digest));
  }

 private:
  std::map<Digest, std::string> blobs_;
  std::map<Digest, std::vector<Descriptor>> referrers_;
  std::optional<Descriptor> root_;
};

// A chain image <- r1 <- r2 <- ... <- r`length`; the referrers in order.
std::vector<Descriptor> chain(ReferringSource& source, int length) {
  std::vector<Descriptor> out;
  Descriptor subject = source.add_image(media_type::kOciLayerGzip);
  for (int i = 1; i <= length; ++i) {
    out.push_back(source.add_referrer(subject, i));
    subject = out.back();
  }
  return out;
}

TransferOptions with_referrers() {
  TransferOptions o;
  o.referrers = true;
  return o;
}

TEST(ReferrersWalk, AChainAsLongAsTheLimitIsWrittenAfterTheImageAndListed) {
  ReferringSource source;
  const std::vector<Descriptor> referrers = chain(source, kMaxReferrerDepth);
  testing::ScratchDir dir("referrers-walk");
  oci::OciLayoutSink sink(dir.path() / "layout");

  const TransferResult r = copy(source, "", sink, with_referrers());
  sink.commit();

  EXPECT_EQ(r.referrers, referrers);
  oci::OciLayoutSource written(std::make_unique<oci::DirectoryTree>(dir.path() / "layout"));
  const std::vector<ImageEntry> entries = written.list();
  ASSERT_EQ(entries.size(), referrers.size() + 1);
  EXPECT_EQ(entries[0].names, std::vector<std::string>{"v1"});
  for (std::size_t i = 0; i < referrers.size(); ++i) {
    EXPECT_EQ(entries[i + 1].descriptor, referrers[i]) << i;
    EXPECT_TRUE(entries[i + 1].names.empty());
  }
}

TEST(ReferrersWalk, AChainLongerThanTheLimitIsRefusedBeforeAnythingIsWritten) {
  ReferringSource source;
  const std::vector<Descriptor> referrers = chain(source, kMaxReferrerDepth + 1);
  RecordingSink sink;

  try {
    copy(source, "", sink, with_referrers());
    FAIL() << "copied a chain of " << referrers.size();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("referrer " + referrers.back().digest.str() + " of " +
                                         referrers[referrers.size() - 2].digest.str() +
                                         " is 9 referrers away"),
              std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(sink.calls.empty());
}

TEST(ReferrersWalk, ASinkThatCannotHoldReferrersIsRefusedWhenThereAreSome) {
  ReferringSource source;
  chain(source, 1);
  RecordingSink sink;  // SinkTraits{}: holds no referrers, as a docker-archive

  EXPECT_THROW(copy(source, "", sink, with_referrers()), InputError);
  EXPECT_TRUE(sink.calls.empty());
}

TEST(ReferrersWalk, WithoutTheOptionTheSourceIsNotAskedAndOnlyTheImageIsWritten) {
  ReferringSource source;
  chain(source, 2);
  RecordingSink sink;

  const TransferResult r = copy(source, "", sink, TransferOptions{});

  EXPECT_EQ(source.referrer_calls, 0);
  EXPECT_TRUE(r.referrers.empty());
  EXPECT_EQ(sink.manifests().size(), 1u);
}

TEST(ReferrersWalk, AnImageWhoseLayersWouldBeCompressedKeepsItsReferrersOrFails) {
  ReferringSource source;
  const Descriptor image = source.add_image(media_type::kOciLayer);  // uncompressed
  source.add_referrer(image, 1);
  testing::ScratchDir dir("referrers-compress");
  oci::OciLayoutSink sink(dir.path() / "layout");

  try {
    copy(source, "", sink, with_referrers());
    FAIL() << "compressed an image that has referrers";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("would be compressed on the way"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace ecr
