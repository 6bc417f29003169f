#include "oci/oci_archive_sink.hpp"

#include <algorithm>

#include "oci/tar_writer.hpp"

namespace ecr::oci {

OciArchiveSink::OciArchiveSink(std::filesystem::path file) : file_(std::move(file)) {}

void OciArchiveSink::expect(const WritePlan& plan) {
  // Something already staged (not the way a transfer calls) stays staged.
  if (layout_ || in_place_ || plan.manifests.empty()) return;
  // Manifests are blobs too; a digest has one place however often it is named.
  std::vector<Descriptor> blobs(plan.blobs.begin(), plan.blobs.end());
  for (const auto& m : plan.manifests) blobs.push_back(m.descriptor());
  for (const auto& m : plan.referrer_manifests) blobs.push_back(m.descriptor());
  std::sort(blobs.begin(), blobs.end(),
            [](const Descriptor& a, const Descriptor& b) { return a.digest < b.digest; });
  blobs.erase(
      std::unique(blobs.begin(), blobs.end(),
                  [](const Descriptor& a, const Descriptor& b) { return a.digest == b.digest; }),
      blobs.end());
  std::vector<Descriptor> entries;
  list_in_index(entries, plan.manifests.back().descriptor(),
                std::vector<std::string>(plan.names.begin(), plan.names.end()));
  // In the order the transfer lists them after the root, so index.json is
  // the one commit() is given.
  for (const auto& r : plan.referrers) list_referrer_in_index(entries, r);
  in_place_ = std::make_unique<InPlaceArchive>(file_, blobs, serialize_oci_index(entries));
}

OciLayoutSink& OciArchiveSink::layout() {
  if (!layout_) {
    staging_ = std::make_unique<StagingDir>(file_);
    layout_ = std::make_unique<OciLayoutSink>(staging_->path() / "layout");
  }
  return *layout_;
}

bool OciArchiveSink::has_blob(const Digest& digest) {
  if (in_place_) return in_place_->holds(digest);
  return layout_ && layout_->has_blob(digest);
}

void OciArchiveSink::write_blob(BlobReader& in) {
  if (!in_place_) return layout().write_blob(in);
  if (in_place_->holds(in.descriptor().digest)) {
    // Still read it through, so a lying source is caught here too.
    std::byte buf[65536];
    while (in.read(buf) != 0) {
    }
    return;
  }
  in_place_->write(in);
}

bool OciArchiveSink::place_file(const Descriptor& descriptor, const std::filesystem::path& file) {
  if (!in_place_) return layout().place_file(descriptor, file);
  return in_place_->holds(descriptor.digest) || in_place_->place(descriptor, file);
}

std::unique_ptr<BlobSlot> OciArchiveSink::blob_slot(const Descriptor& descriptor) {
  return in_place_ ? in_place_->slot(descriptor) : nullptr;
}

void OciArchiveSink::write_manifest(const ParsedManifest& manifest,
                                    const std::vector<std::string>& names, bool root) {
  if (!in_place_) return layout().write_manifest(manifest, names, root);
  if (!in_place_->holds(manifest.digest)) {
    BlobReader reader(manifest.descriptor(),
                      std::make_unique<StringStream>(std::string_view(manifest.raw)));
    in_place_->write(reader);
  }
  if (root) list_in_index(index_entries_, manifest.descriptor(), names);
}

void OciArchiveSink::list_referrer(const Descriptor& referrer) {
  if (!in_place_) return layout().list_referrer(referrer);
  list_referrer_in_index(index_entries_, referrer);
}

void OciArchiveSink::commit() {
  if (in_place_) return in_place_->commit(serialize_oci_index(index_entries_));
  commit_staged();
}

void OciArchiveSink::commit_staged() {
  OciLayoutSink& staged = layout();
  staged.finish_files();
  const auto& root = staged.root();
  TarWriter tar(file_);
  tar.add_bytes("oci-layout", kOciLayoutFile);
  tar.add_file("index.json", root / "index.json");
  tar.add_directory("blobs");
  tar.add_directory("blobs/sha256");
  // Sorted, so the same image always gives the same archive bytes.
  std::vector<std::string> blobs;
  for (const auto& e : std::filesystem::directory_iterator(root / "blobs" / "sha256")) {
    blobs.push_back(e.path().filename().string());
  }
  std::sort(blobs.begin(), blobs.end());
  for (const auto& hex : blobs)
    tar.add_file("blobs/sha256/" + hex, root / "blobs" / "sha256" / hex);
  tar.commit();
}

}  // namespace ecr::oci
