// Deterministic serialization of the manifests this library creates: keys in
// the image-spec's order, optional fields only when set, no whitespace. The
// same content therefore always gets the same digest.
#include "core/json_writer.hpp"
#include "ecr/manifest.hpp"

namespace ecr {
namespace {

void write_string_map(json::Writer& w, const std::map<std::string, std::string>& m) {
  w.begin_object();
  for (const auto& [k, v] : m) {  // std::map: sorted keys, hence deterministic
    w.key(k);
    w.string(v);
  }
  w.end_object();
}

void write_platform(json::Writer& w, const Platform& p) {
  w.begin_object();
  w.key("architecture");
  w.string(p.architecture);
  w.key("os");
  w.string(p.os);
  if (!p.os_version.empty()) {
    w.key("os.version");
    w.string(p.os_version);
  }
  if (!p.os_features.empty()) {
    w.key("os.features");
    w.begin_array();
    for (const auto& f : p.os_features) w.string(f);
    w.end_array();
  }
  if (!p.variant.empty()) {
    w.key("variant");
    w.string(p.variant);
  }
  if (!p.features.empty()) {
    w.key("features");
    w.begin_array();
    for (const auto& f : p.features) w.string(f);
    w.end_array();
  }
  w.end_object();
}

void write_descriptor(json::Writer& w, const Descriptor& d) {
  w.begin_object();
  w.key("mediaType");
  w.string(d.media_type);
  if (!d.artifact_type.empty()) {
    w.key("artifactType");
    w.string(d.artifact_type);
  }
  w.key("digest");
  w.string(d.digest.str());
  w.key("size");
  w.integer(d.size);
  if (!d.urls.empty()) {
    w.key("urls");
    w.begin_array();
    for (const auto& u : d.urls) w.string(u);
    w.end_array();
  }
  if (!d.annotations.empty()) {
    w.key("annotations");
    write_string_map(w, d.annotations);
  }
  if (d.platform) {
    w.key("platform");
    write_platform(w, *d.platform);
  }
  w.end_object();
}

std::string image_manifest(std::string_view media_type, const Descriptor& config,
                           const std::vector<Descriptor>& layers,
                           const std::map<std::string, std::string>& annotations) {
  std::string out;
  json::Writer w(out);
  w.begin_object();
  w.key("schemaVersion");
  w.integer(2);
  w.key("mediaType");
  w.string(media_type);
  w.key("config");
  write_descriptor(w, config);
  w.key("layers");
  w.begin_array();
  for (const auto& l : layers) write_descriptor(w, l);
  w.end_array();
  if (!annotations.empty()) {
    w.key("annotations");
    write_string_map(w, annotations);
  }
  w.end_object();
  return out;
}

}  // namespace

std::string serialize_oci_manifest(const Descriptor& config, const std::vector<Descriptor>& layers,
                                   const std::map<std::string, std::string>& annotations) {
  return image_manifest(media_type::kOciManifest, config, layers, annotations);
}

std::string serialize_docker_manifest(const Descriptor& config,
                                      const std::vector<Descriptor>& layers) {
  return image_manifest(media_type::kDockerManifest, config, layers, {});
}

std::string serialize_oci_index(const std::vector<Descriptor>& manifests,
                                const std::map<std::string, std::string>& annotations) {
  std::string out;
  json::Writer w(out);
  w.begin_object();
  w.key("schemaVersion");
  w.integer(2);
  w.key("mediaType");
  w.string(media_type::kOciIndex);
  w.key("manifests");
  w.begin_array();
  for (const auto& m : manifests) write_descriptor(w, m);
  w.end_array();
  if (!annotations.empty()) {
    w.key("annotations");
    write_string_map(w, annotations);
  }
  w.end_object();
  return out;
}

}  // namespace ecr
