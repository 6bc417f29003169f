// The image model: manifests, indexes, descriptors, platforms and image configs,
// in both the Docker v2 schema2 and the OCI image-spec dialects.
//
// Parsing is strict (media types, digest syntax, sizes, schemaVersion 2) and keeps
// the original bytes: a manifest's digest is always over `raw` as stored, never
// over a re-serialization. Where this library creates a manifest it serializes
// deterministically (fixed key order, no whitespace), so the same content always
// gets the same digest.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ecr/digest.hpp"

namespace ecr {

namespace media_type {
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayerGzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerForeignLayerGzip =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
// Docker schema1 manifests are refused by name so the error says why.
inline constexpr std::string_view kDockerSchema1 =
    "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kDockerSchema1Signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
}  // namespace media_type

// Limits from the issue: a manifest document larger than this is refused before
// parsing (ECR's own limit on an image manifest is 4 MiB).
inline constexpr std::size_t kMaxManifestBytes = 4 * 1024 * 1024;
// An index with more child manifests than this is refused.
inline constexpr std::size_t kMaxIndexEntries = 10'000;

// Where an image runs. `os` and `architecture` are required in a document.
struct Platform {
  std::string os;
  std::string architecture;
  std::string variant{};                   // empty when absent
  std::string os_version{};                // "os.version", empty when absent
  std::vector<std::string> os_features{};  // "os.features"
  std::vector<std::string> features{};

  // Parses the command-line form "os/arch[/variant]". Throws InputError.
  static Platform parse(std::string_view text);
  // "os/arch[/variant]".
  std::string str() const;
  // True when this platform satisfies `wanted`: os and architecture equal, and
  // the variant equal when `wanted` names one.
  bool matches(const Platform& wanted) const;
  friend bool operator==(const Platform&, const Platform&) = default;
};

// A reference to content: its media type, digest and size.
struct Descriptor {
  std::string media_type;
  Digest digest;
  std::int64_t size = 0;
  std::vector<std::string> urls{};
  std::map<std::string, std::string> annotations{};
  std::optional<Platform> platform{};
  std::string artifact_type{};  // empty when absent

  friend bool operator==(const Descriptor&, const Descriptor&) = default;
};

enum class ManifestKind { kImage, kIndex };

// A parsed manifest or index, holding the bytes it was parsed from.
struct ParsedManifest {
  ManifestKind kind = ManifestKind::kImage;
  std::string media_type;               // the effective media type (document's, else the hint's)
  std::string raw;                      // the bytes exactly as stored
  Digest digest;                        // sha256 over `raw`
  std::optional<Descriptor> config{};   // image manifests: always set
  std::vector<Descriptor> layers{};     // image manifests
  std::vector<Descriptor> manifests{};  // indexes: the child manifests
  std::map<std::string, std::string> annotations{};
  std::optional<Descriptor> subject{};
  std::string artifact_type{};  // the document's artifactType; empty when absent

  bool is_index() const noexcept { return kind == ManifestKind::kIndex; }
  // A descriptor of this manifest (media type, digest, size of `raw`).
  Descriptor descriptor() const;
};

// Parses a manifest or index. `media_type_hint` is the media type the document
// arrived with (a Content-Type, an index.json descriptor, a PutImage
// imageManifestMediaType); it may carry parameters ("; charset=utf-8"), which
// are ignored, and may be empty, in which case the document's own mediaType is
// used. When both are given they must agree. A document with neither is taken
// as OCI (manifest when it has "config", index when it has "manifests").
//
// Throws InputError, saying what and where, when: the document exceeds
// kMaxManifestBytes; the JSON is invalid or not an object; schemaVersion is not
// the integer 2; the media type is unknown, schema1, or disagrees with the hint;
// a required field (config, layers, manifests, a descriptor's mediaType, digest,
// size, a platform's os/architecture) is missing or of the wrong type; a digest
// is malformed; a size is negative or not an integer; an index holds more than
// kMaxIndexEntries manifests; an image manifest carries "manifests" or an
// index carries "config"/"layers".
ParsedManifest parse_manifest(std::string_view bytes, std::string_view media_type_hint);

// True for the four manifest/index media types parse_manifest accepts.
bool is_manifest_media_type(std::string_view media_type) noexcept;
bool is_index_media_type(std::string_view media_type) noexcept;

// One entry of an image config's history.
struct HistoryEntry {
  std::string created;
  std::string created_by;
  std::string author;
  std::string comment;
  bool empty_layer = false;
};

// The parts of an image config this library reads. `raw` keeps the bytes.
struct ImageConfig {
  std::string raw;
  Digest digest;
  Platform platform{};             // os, architecture, variant, os.version
  std::vector<Digest> diff_ids{};  // rootfs.diff_ids, bottom layer first
  std::vector<HistoryEntry> history{};
  std::string created{};
};

// Parses an image config (Docker or OCI; they share the fields read here).
// Throws InputError when the document exceeds kMaxManifestBytes, is not a JSON
// object, lacks "architecture"/"os" strings, or lacks rootfs of type "layers"
// with a diff_ids array of valid digests.
ImageConfig parse_image_config(std::string_view bytes);

// Serializes an OCI image manifest deterministically (keys in the order of the
// image-spec, no whitespace). The result parses back with parse_manifest.
std::string serialize_oci_manifest(const Descriptor& config, const std::vector<Descriptor>& layers,
                                   const std::map<std::string, std::string>& annotations = {});
// Serializes a Docker v2 schema2 manifest deterministically.
std::string serialize_docker_manifest(const Descriptor& config,
                                      const std::vector<Descriptor>& layers);
// Serializes an OCI index deterministically.
std::string serialize_oci_index(const std::vector<Descriptor>& manifests,
                                const std::map<std::string, std::string>& annotations = {});

}  // namespace ecr
