#include <algorithm>
#include <system_error>
#include <vector>

#include "core/blob_commit.hpp"
#include "core/file.hpp"
#include "core/thread_buffer.hpp"
#include "ecr/error.hpp"
#include "oci/oci_layout.hpp"

namespace ecr::oci {
namespace {

// Tags the buffer write_blob() copies through (core/thread_buffer.hpp).
struct LayoutCopy;

// Bytes per read from a blob's source into its file: the 1 MiB that
// write_stream_to_file used here before the commit step was shared.
constexpr std::size_t kLayoutCopyBytes = 1 << 20;

}  // namespace

OciLayoutSink::OciLayoutSink(std::filesystem::path dir) : dir_(std::move(dir)) {
  std::error_code ec;
  if (std::filesystem::exists(dir_, ec)) {
    root_ = dir_;
    // Adding to an existing layout keeps what its index.json lists.
    OciLayoutSource existing(std::make_unique<DirectoryTree>(dir_));
    for (const auto& image : existing.list()) index_entries_.push_back(image.descriptor);
  } else {
    staging_ = std::make_unique<StagingDir>(dir_);
    root_ = staging_->path();
  }
  std::filesystem::create_directories(root_ / "blobs" / "sha256");
}

OciLayoutSink::~OciLayoutSink() {
  if (committed_) return;
  for (const auto& p : added_blobs_) {
    std::error_code ec;
    std::filesystem::remove(p, ec);
  }
}

bool OciLayoutSink::has_blob(const Digest& digest) {
  std::error_code ec;
  return std::filesystem::is_regular_file(root_ / blob_path(digest), ec);
}

void OciLayoutSink::write_blob(BlobReader& in) {
  const auto final_path = root_ / blob_path(in.descriptor().digest);
  if (has_blob(in.descriptor().digest)) {
    // Still read it through, so a lying source is caught here too.
    std::byte buf[65536];
    while (in.read(buf) != 0) {
    }
    return;
  }
  TempFile temp(final_path);
  const std::span<std::byte> buf = thread_buffer<LayoutCopy>(kLayoutCopyBytes);
  while (const std::size_t n = in.read(buf)) temp.write(std::span(buf.data(), n));
  // The reader checked size and digest when it reached the end, so the bytes
  // are the descriptor's; commit_blob makes them durable and visible.
  const Digest& digest = in.descriptor().digest;
  if (commit_blob(temp, digest, digest, in.position(), final_path) == BlobCommit::kPlaced) {
    added_blobs_.push_back(final_path);
  }
}

bool OciLayoutSink::place_file(const Descriptor& descriptor, const std::filesystem::path& file) {
  if (has_blob(descriptor.digest)) return true;
  const auto final_path = root_ / blob_path(descriptor.digest);
  if (!link_or_copy_file(file, final_path)) return false;
  added_blobs_.push_back(final_path);
  return true;
}

void OciLayoutSink::store_bytes(const Digest& digest, std::string_view bytes) {
  Descriptor d{.media_type = "application/octet-stream",
               .digest = digest,
               .size = static_cast<std::int64_t>(bytes.size())};
  BlobReader reader(d, std::make_unique<StringStream>(bytes));
  write_blob(reader);
}

void list_in_index(std::vector<Descriptor>& entries, const Descriptor& root,
                   const std::vector<std::string>& names) {
  auto same_entry = [&](const Descriptor& e, const std::string* name) {
    auto it = e.annotations.find(std::string(kRefNameAnnotation));
    if (!name) return it == e.annotations.end() && e.digest == root.digest;
    return it != e.annotations.end() && it->second == *name;
  };
  if (names.empty()) {
    std::erase_if(entries, [&](const Descriptor& e) { return same_entry(e, nullptr); });
    entries.push_back(root);
    return;
  }
  for (const auto& name : names) {
    // A ref name points at one image: the new one replaces the old.
    std::erase_if(entries, [&](const Descriptor& e) { return same_entry(e, &name); });
    Descriptor named = root;
    named.annotations[std::string(kRefNameAnnotation)] = name;
    entries.push_back(std::move(named));
  }
}

void OciLayoutSink::write_manifest(const ParsedManifest& manifest,
                                   const std::vector<std::string>& names, bool root) {
  store_bytes(manifest.digest, manifest.raw);
  if (root) list_in_index(index_entries_, manifest.descriptor(), names);
}

void OciLayoutSink::finish_files() {
  write_file_atomically(root_ / "oci-layout", kOciLayoutFile);
  write_file_atomically(root_ / "index.json", serialize_oci_index(index_entries_));
}

void OciLayoutSink::commit() {
  finish_files();
  if (staging_) staging_->rename_to(dir_);
  committed_ = true;
}

}  // namespace ecr::oci
