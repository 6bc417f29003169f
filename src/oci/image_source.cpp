// What every ImageSource shares: choosing an image by reference and reading
// manifests stored as blobs.
#include "ecr/error.hpp"
#include "ecr/image.hpp"

namespace ecr {
namespace {

std::string describe(const std::vector<ImageEntry>& images) {
  if (images.empty()) return "the source holds no images";
  std::string s = "the source holds:";
  for (std::size_t i = 0; i < images.size(); ++i) {
    s += " @" + std::to_string(i) + " (" + images[i].descriptor.digest.str();
    for (const auto& n : images[i].names) s += " " + n;
    s += ")";
  }
  return s;
}

const ImageEntry& select(const std::vector<ImageEntry>& images, std::string_view ref) {
  if (ref.empty()) {
    if (images.size() == 1) return images[0];
    throw InputError("no image reference given and " + describe(images));
  }
  if (ref.front() == '@') {
    std::size_t i = 0;
    const std::string_view digits = ref.substr(1);
    bool ok = !digits.empty() && digits.size() < 7;
    for (char c : digits) {
      ok = ok && c >= '0' && c <= '9';
      if (ok) i = i * 10 + static_cast<std::size_t>(c - '0');
    }
    if (ok && i < images.size()) return images[i];
  }
  for (const auto& image : images) {
    if (image.descriptor.digest.str() == ref) return image;
    for (const auto& n : image.names) {
      if (n == ref) return image;
    }
  }
  throw InputError("image \"" + std::string(ref) + "\" not found; " + describe(images));
}

}  // namespace

ParsedManifest ImageSource::resolve(std::string_view ref) {
  const std::vector<ImageEntry> images = list();
  return fetch_manifest(select(images, ref).descriptor);
}

ParsedManifest ImageSource::fetch_manifest(const Descriptor& descriptor) {
  BlobReader reader = open_blob(descriptor);
  return parse_manifest(reader.read_all(kMaxManifestBytes), descriptor.media_type);
}

BlobReader ImageSource::open_blob(const Descriptor& descriptor, BlobReader::Check check) {
  return BlobReader(descriptor, open_raw(descriptor), check);
}

void ImageSource::fetch_ahead(const std::vector<Descriptor>&, ImageSink&, TransferContext&) {}

BlobAction ImageSource::send_blob(const Descriptor& descriptor, ImageSink& sink,
                                  TransferContext& context) {
  sink.copy_blob(*this, descriptor, context);
  return sink.traits().written_as;
}

std::optional<std::filesystem::path> ImageSource::identity_file(const Descriptor&) const {
  return std::nullopt;
}

std::vector<Descriptor> ImageSource::referrers(const Digest&) { return {}; }

}  // namespace ecr
