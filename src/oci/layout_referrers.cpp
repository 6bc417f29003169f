// OCI 1.1 referrers in an OCI image layout: found through index.json, and
// listed there when written (the image-layout spec lets index.json list
// referrers; oras and skopeo find them there).
#include <algorithm>

#include "oci/oci_layout.hpp"

namespace ecr::oci {

Descriptor referrer_descriptor(const ParsedManifest& manifest) {
  Descriptor d = manifest.descriptor();
  d.artifact_type = manifest.artifact_type;
  if (d.artifact_type.empty() && manifest.config) d.artifact_type = manifest.config->media_type;
  d.annotations = manifest.annotations;
  return d;
}

void list_referrer_in_index(std::vector<Descriptor>& entries, const Descriptor& referrer) {
  const auto named = [](const Descriptor& e) {
    return e.annotations.contains(std::string(kRefNameAnnotation));
  };
  for (const auto& e : entries) {
    if (e.digest == referrer.digest && named(e)) return;
  }
  std::erase_if(entries,
                [&](const Descriptor& e) { return e.digest == referrer.digest && !named(e); });
  entries.push_back(referrer);
}

std::vector<Descriptor> OciLayoutSource::referrers(const Digest& subject) {
  if (!referrers_) {
    std::map<Digest, std::vector<Descriptor>> found;
    std::set<Digest> seen;
    auto consider = [&](const ParsedManifest& m) {
      if (m.subject && seen.insert(m.digest).second) {
        found[m.subject->digest].push_back(referrer_descriptor(m));
      }
    };
    for (const auto& entry : index_.manifests) {
      if (!is_manifest_media_type(entry.media_type)) continue;
      const ParsedManifest m = fetch_manifest(entry);
      consider(m);
      if (!m.is_index()) continue;
      // A layout may hold some children of an index it lists and not others
      // (one platform copied out of a multi-platform image): a child that is
      // not there is no referrer this layout can give.
      for (const auto& child : m.manifests) {
        if (!is_manifest_media_type(child.media_type)) continue;
        if (!tree_->file_size(blob_path(child.digest))) continue;
        consider(fetch_manifest(child));
      }
    }
    for (auto& [_, list] : found) {
      std::sort(list.begin(), list.end(),
                [](const Descriptor& a, const Descriptor& b) { return a.digest < b.digest; });
    }
    referrers_ = std::move(found);
  }
  const auto it = referrers_->find(subject);
  return it == referrers_->end() ? std::vector<Descriptor>{} : it->second;
}

void OciLayoutSink::list_referrer(const Descriptor& referrer) {
  list_referrer_in_index(index_entries_, referrer);
}

}  // namespace ecr::oci
