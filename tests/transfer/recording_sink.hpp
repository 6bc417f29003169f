// An ImageSink that writes down every call made on it, in order, so a test
// can compare what two transfers asked of their sinks. It keeps what it is
// given in memory, or passes every call on to another sink (an OCI layout).
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ecr/image.hpp"

namespace ecr::testing {

class RecordingSink final : public ImageSink {
 public:
  // Keeps blobs and manifests in memory.
  RecordingSink() = default;
  // Passes every call on to `inner` (its traits too).
  explicit RecordingSink(std::unique_ptr<ImageSink> inner) : inner_(std::move(inner)) {}

  // Every call, in order:
  //   "has_blobs D1 D2 ..."                  the digests asked, in the order asked
  //   "has_blob D"                           a single question
  //   "copy_blob D"                          a source handing a blob over to be read
  //   "place_file D" / "place_file D refused"
  //   "write_blob D"
  //   "write_streamed_blob <shown_as> -> D"  D: the blob it became
  //   "write_manifest D root[ NAME,NAME]" / "write_manifest D child"
  //   "commit"
  std::vector<std::string> calls;
  // Blobs held before the transfer (memory mode): has_blob answers true.
  std::set<Digest> held;
  // Blob bytes written (memory mode).
  std::map<Digest, std::string> blobs;

  // The calls without the hand-over steps a source chooses (copy_blob, a
  // refused place_file): what the walk asked of the sink and what arrived.
  std::vector<std::string> walk() const {
    std::vector<std::string> out;
    for (const auto& c : calls) {
      if (c.starts_with("copy_blob ") || c.ends_with(" refused")) continue;
      out.push_back(c);
    }
    return out;
  }
  // The manifests written, in order.
  std::vector<Digest> manifests() const {
    std::vector<Digest> out;
    for (const auto& c : calls) {
      if (c.starts_with("write_manifest ")) {
        out.push_back(Digest::parse(c.substr(15, c.find(' ', 15) - 15)));
      }
    }
    return out;
  }

  SinkTraits traits() const override { return inner_ ? inner_->traits() : SinkTraits{}; }

  bool has_blob(const Digest& digest) override {
    calls.push_back("has_blob " + digest.str());
    return holds(digest);
  }
  std::vector<bool> has_blobs(const std::vector<Descriptor>& asked, TransferContext&) override {
    std::string line = "has_blobs";
    std::vector<bool> answer;
    for (const auto& d : asked) {
      line += " " + d.digest.str();
      answer.push_back(holds(d.digest));
    }
    calls.push_back(line);
    return answer;
  }
  void copy_blob(ImageSource& source, const Descriptor& descriptor,
                 TransferContext& context) override {
    calls.push_back("copy_blob " + descriptor.digest.str());
    // The default reads it through write_blob, which is recorded.
    ImageSink::copy_blob(source, descriptor, context);
  }
  bool place_file(const Descriptor& descriptor, const std::filesystem::path& file) override {
    const bool placed = inner_ && inner_->place_file(descriptor, file);
    calls.push_back("place_file " + descriptor.digest.str() + (placed ? "" : " refused"));
    return placed;
  }
  void write_blob(BlobReader& in) override {
    calls.push_back("write_blob " + in.descriptor().digest.str());
    if (inner_) {
      inner_->write_blob(in);
    } else {
      blobs[in.descriptor().digest] = in.read_all(1u << 30);
    }
  }
  Descriptor write_streamed_blob(const StreamedBlob& blob, TransferContext& context) override {
    const std::size_t at = calls.size();
    calls.push_back("write_streamed_blob " + blob.shown_as.digest.str());
    // The default stages it and writes it through has_blob and write_blob,
    // which are recorded after this line.
    const Descriptor written = ImageSink::write_streamed_blob(blob, context);
    calls[at] += " -> " + written.digest.str();
    return written;
  }
  void write_manifest(const ParsedManifest& manifest, const std::vector<std::string>& names,
                      bool root) override {
    std::string line = "write_manifest " + manifest.digest.str() + (root ? " root" : " child");
    for (std::size_t i = 0; i < names.size(); ++i) line += (i ? "," : " ") + names[i];
    calls.push_back(line);
    if (inner_) inner_->write_manifest(manifest, names, root);
  }
  void commit() override {
    calls.push_back("commit");
    if (inner_) inner_->commit();
  }

 private:
  bool holds(const Digest& digest) {
    return inner_ ? inner_->has_blob(digest) : (held.contains(digest) || blobs.contains(digest));
  }

  std::unique_ptr<ImageSink> inner_;
};

}  // namespace ecr::testing
