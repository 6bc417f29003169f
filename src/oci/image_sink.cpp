// The ImageSink defaults: what a local place does that has no better way.
#include <unistd.h>

#include "ecr/image.hpp"
#include "oci/file_io.hpp"

namespace ecr {
namespace {

// The staged bytes of a streamed blob (the producer hashes them).
class FileOutput final : public ByteOutput {
 public:
  explicit FileOutput(oci::FileWriter& file) : file_(file) {}
  void write(std::span<const std::byte> bytes) override { file_.write(bytes); }

 private:
  oci::FileWriter& file_;
};

}  // namespace

void ImageSink::expect(const WritePlan&) {}

void ImageSink::list_referrer(const Descriptor&) {}

std::unique_ptr<BlobSlot> ImageSink::blob_slot(const Descriptor&) { return nullptr; }

bool ImageSink::place_file(const Descriptor&, const std::filesystem::path&) { return false; }

std::vector<bool> ImageSink::has_blobs(const std::vector<Descriptor>& blobs, TransferContext&) {
  std::vector<bool> held;
  held.reserve(blobs.size());
  for (const auto& d : blobs) held.push_back(has_blob(d.digest));
  return held;
}

void ImageSink::copy_blob(ImageSource& source, const Descriptor& descriptor, TransferContext&) {
  BlobReader reader = source.open_blob(descriptor);
  write_blob(reader);
}

Descriptor ImageSink::write_streamed_blob(const StreamedBlob& blob, TransferContext&) {
  // The digest is known only at the end, and write_blob needs it first: the
  // bytes wait in a private temp directory that goes with this call.
  const oci::StagingDir staging(std::filesystem::temp_directory_path() /
                                ("ecr-stream-" + std::to_string(::getpid())));
  const std::filesystem::path path = staging.path() / "blob";
  const Descriptor written = [&] {
    oci::FileWriter file(path);
    FileOutput out(file);
    Descriptor d = blob.write_to(out);
    file.finish();
    return d;
  }();
  if (!has_blob(written.digest)) {
    BlobReader reader(written, std::make_unique<oci::FileRangeStream>(oci::open_regular_file(path),
                                                                      0, written.size));
    write_blob(reader);
  }
  return written;
}

}  // namespace ecr
