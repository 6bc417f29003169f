// inspect_image: a source's image described as JSON.
#include "ecr/inspect.hpp"

#include <algorithm>

#include "core/json_writer.hpp"
#include "ecr/error.hpp"

namespace ecr {
namespace {

std::vector<std::string> names_of(ImageSource& source, const Digest& digest) {
  for (const auto& image : source.list()) {
    if (image.descriptor.digest == digest) return image.names;
  }
  return {};
}

void write_descriptor_summary(json::Writer& w, const Descriptor& d) {
  w.begin_object();
  w.key("digest");
  w.string(d.digest.str());
  w.key("size");
  w.integer(d.size);
  w.key("mediaType");
  w.string(d.media_type);
  if (d.platform) {
    w.key("platform");
    w.string(d.platform->str());
  }
  w.end_object();
}

}  // namespace

std::string inspect_image(ImageSource& source, std::string_view ref,
                          const std::optional<Platform>& platform, bool pretty) {
  ParsedManifest m = source.resolve(ref);
  if (platform && m.is_index()) {
    const auto it = std::find_if(m.manifests.begin(), m.manifests.end(), [&](const Descriptor& c) {
      return c.platform && c.platform->matches(*platform);
    });
    if (it == m.manifests.end()) {
      throw InputError("index " + m.digest.str() + " has no manifest for " + platform->str());
    }
    m = source.fetch_manifest(*it);
  }
  std::string out;
  json::Writer w(out, pretty);
  w.begin_object();
  w.key("digest");
  w.string(m.digest.str());
  w.key("mediaType");
  w.string(m.media_type);
  w.key("names");
  w.begin_array();
  for (const auto& n : names_of(source, m.digest)) w.string(n);
  w.end_array();
  if (m.is_index()) {
    w.key("manifests");
    w.begin_array();
    for (const auto& c : m.manifests) write_descriptor_summary(w, c);
    w.end_array();
  } else {
    w.key("config");
    write_descriptor_summary(w, *m.config);
    w.key("layers");
    w.begin_array();
    for (const auto& l : m.layers) write_descriptor_summary(w, l);
    w.end_array();
  }
  w.end_object();
  return out;
}

}  // namespace ecr
