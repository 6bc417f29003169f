// Strict parsing of manifests and indexes (Docker schema2, OCI image-spec).
#include <algorithm>

#include "core/json_reader.hpp"
#include "ecr/error.hpp"
#include "ecr/manifest.hpp"
#include "oci/json_fields.hpp"

namespace ecr {
namespace {

// "type/subtype; charset=utf-8" -> "type/subtype": a Content-Type carries
// parameters that do not change which document it is.
std::string_view strip_parameters(std::string_view media_type) {
  const auto semi = media_type.find(';');
  if (semi != std::string_view::npos) media_type = media_type.substr(0, semi);
  while (!media_type.empty() && (media_type.back() == ' ' || media_type.back() == '\t')) {
    media_type.remove_suffix(1);
  }
  while (!media_type.empty() && (media_type.front() == ' ' || media_type.front() == '\t')) {
    media_type.remove_prefix(1);
  }
  return media_type;
}

std::string effective_media_type(oci::JsonObject doc, std::string_view hint) {
  const std::string in_doc = oci::optional_string(doc, "mediaType", "manifest");
  const std::string_view hinted = strip_parameters(hint);
  for (std::string_view t : {std::string_view(in_doc), hinted}) {
    if (t == media_type::kDockerSchema1 || t == media_type::kDockerSchema1Signed) {
      throw InputError("Docker schema1 manifests are not supported (media type " + std::string(t) +
                       ")");
    }
  }
  if (!in_doc.empty() && !hinted.empty() && in_doc != hinted) {
    throw InputError("manifest media type mismatch: the document says \"" + in_doc +
                     "\" but it was given as \"" + std::string(hinted) + "\"");
  }
  std::string chosen = !in_doc.empty() ? in_doc : std::string(hinted);
  if (chosen.empty()) {
    // The OCI spec lets mediaType be absent; the fields say which document it is.
    chosen = oci::field(doc, "manifests") ? std::string(media_type::kOciIndex)
                                          : std::string(media_type::kOciManifest);
  }
  if (!is_manifest_media_type(chosen)) {
    throw InputError("unsupported manifest media type \"" + chosen + "\"");
  }
  return chosen;
}

void check_schema_version(oci::JsonObject doc) {
  auto v = oci::field(doc, "schemaVersion");
  if (!v) throw InputError("manifest.schemaVersion is missing");
  std::int64_t n = 0;
  if (v->get_int64().get(n) != simdjson::SUCCESS || n != 2) {
    throw InputError("manifest.schemaVersion must be 2 (found " + simdjson::to_string(*v) + ")");
  }
}

std::vector<Descriptor> descriptor_list(oci::JsonObject doc, std::string_view key,
                                        std::size_t max_entries) {
  auto e = oci::field(doc, key);
  const std::string where = "manifest." + std::string(key);
  if (!e) throw InputError(where + " is missing");
  auto arr = oci::as_array(*e, where);
  if (arr.size() > max_entries) {
    throw InputError(where + " holds " + std::to_string(arr.size()) + " entries; at most " +
                     std::to_string(max_entries) + " are accepted");
  }
  std::vector<Descriptor> out;
  out.reserve(arr.size());
  std::size_t i = 0;
  for (oci::JsonElement item : arr) {
    out.push_back(oci::parse_descriptor(item, where + "[" + std::to_string(i++) + "]"));
  }
  return out;
}

}  // namespace

bool is_index_media_type(std::string_view t) noexcept {
  return t == media_type::kOciIndex || t == media_type::kDockerManifestList;
}

bool is_manifest_media_type(std::string_view t) noexcept {
  return t == media_type::kOciManifest || t == media_type::kDockerManifest ||
         is_index_media_type(t);
}

Descriptor ParsedManifest::descriptor() const {
  return Descriptor{
      .media_type = media_type, .digest = digest, .size = static_cast<std::int64_t>(raw.size())};
}

ParsedManifest parse_manifest(std::string_view bytes, std::string_view media_type_hint) {
  if (bytes.size() > kMaxManifestBytes) {
    throw InputError("manifest is " + std::to_string(bytes.size()) + " bytes; at most " +
                     std::to_string(kMaxManifestBytes) + " are accepted");
  }
  simdjson::dom::parser parser;
  oci::JsonObject doc = oci::as_object(json::parse(parser, bytes, "manifest"), "manifest");
  check_schema_version(doc);
  std::string type = effective_media_type(doc, media_type_hint);
  const bool index = is_index_media_type(type);

  ParsedManifest m{.kind = index ? ManifestKind::kIndex : ManifestKind::kImage,
                   .media_type = std::move(type),
                   .raw = std::string(bytes),
                   .digest = Digest::of(bytes)};
  m.annotations = oci::optional_string_map(doc, "annotations", "manifest");
  m.artifact_type = oci::optional_string(doc, "artifactType", "manifest");
  if (auto s = oci::field(doc, "subject"); s && !s->is_null()) {
    m.subject = oci::parse_descriptor(*s, "manifest.subject");
  }
  if (index) {
    // The image-spec forbids the ambiguity of a document that is both.
    if (oci::field(doc, "config") || oci::field(doc, "layers")) {
      throw InputError("an index (" + m.media_type + ") must not carry config or layers");
    }
    m.manifests = descriptor_list(doc, "manifests", kMaxIndexEntries);
  } else {
    if (oci::field(doc, "manifests")) {
      throw InputError("an image manifest (" + m.media_type + ") must not carry manifests");
    }
    auto config = oci::field(doc, "config");
    if (!config) throw InputError("manifest.config is missing");
    m.config = oci::parse_descriptor(*config, "manifest.config");
    m.layers = descriptor_list(doc, "layers", kMaxIndexEntries);
  }
  return m;
}

}  // namespace ecr
