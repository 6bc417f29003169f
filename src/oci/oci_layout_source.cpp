#include "ecr/error.hpp"
#include "oci/oci_layout.hpp"

namespace ecr::oci {

std::string blob_path(const Digest& digest) {
  return "blobs/" + std::string(digest.algorithm()) + "/" + std::string(digest.hex());
}

OciLayoutSource::OciLayoutSource(std::unique_ptr<FileTree> tree)
    : tree_(std::move(tree)), index_([this] {
        const std::string layout = tree_->read("oci-layout", 4096);
        if (layout.find("\"imageLayoutVersion\"") == std::string::npos) {
          throw InputError(tree_->describe() + ": oci-layout has no imageLayoutVersion");
        }
        try {
          return parse_manifest(tree_->read("index.json", kMaxManifestBytes),
                                media_type::kOciIndex);
        } catch (const InputError& e) {
          throw InputError(tree_->describe() + ": index.json: " + e.what());
        }
      }()) {}

std::vector<ImageEntry> OciLayoutSource::list() {
  std::vector<ImageEntry> out;
  for (const auto& d : index_.manifests) {
    ImageEntry entry{.names = {}, .descriptor = d};
    if (auto it = d.annotations.find(std::string(kRefNameAnnotation)); it != d.annotations.end()) {
      entry.names.push_back(it->second);
    }
    out.push_back(std::move(entry));
  }
  return out;
}

std::unique_ptr<ByteStream> OciLayoutSource::open_raw(const Descriptor& d) {
  const std::string path = blob_path(d.digest);
  auto size = tree_->file_size(path);
  if (!size) throw InputError(tree_->describe() + ": blob " + d.digest.str() + " is missing");
  if (*size != d.size) {
    throw IntegrityError("blob " + d.digest.str() + " is " + std::to_string(*size) + " bytes in " +
                         tree_->describe() + " but its descriptor says " + std::to_string(d.size));
  }
  return tree_->open(path);
}

}  // namespace ecr::oci
