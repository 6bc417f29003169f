// copy(source, sink). Uncompressed layers headed for a sink that wants
// compressed ones are compressed into a temp file first: the compressed digest
// is only known at the end, and a sink (a registry) needs it up front.
#include "ecr/image_copy.hpp"

#include <unistd.h>

#include <algorithm>

#include "core/json_writer.hpp"
#include "ecr/error.hpp"
#include "oci/file_io.hpp"

namespace ecr {
namespace {

bool is_uncompressed_layer(std::string_view media_type) {
  return media_type == media_type::kOciLayer ||
         media_type == "application/vnd.docker.image.rootfs.diff.tar";
}

void drain_into(ImageSource& source, ImageSink& sink, const Descriptor& d) {
  if (sink.has_blob(d.digest)) return;
  BlobReader reader = source.open_blob(d);
  sink.write_blob(reader);
}

class Copier {
 public:
  Copier(ImageSource& source, ImageSink& sink, const CopyOptions& options)
      : source_(source), sink_(sink), options_(options) {}

  // Copies one image manifest; returns the manifest as written (rewritten
  // when layers were compressed on the way).
  ParsedManifest copy_manifest(const ParsedManifest& m, const std::vector<std::string>& names,
                               bool root) {
    BlobReader config_reader = source_.open_blob(*m.config);
    const std::string config_bytes = config_reader.read_all(kMaxManifestBytes);
    const ImageConfig config = parse_image_config(config_bytes);
    if (config.diff_ids.size() != m.layers.size()) {
      throw InputError("manifest " + m.digest.str() + " has " + std::to_string(m.layers.size()) +
                       " layers but its config has " + std::to_string(config.diff_ids.size()) +
                       " diff_ids");
    }
    if (!sink_.has_blob(m.config->digest)) {
      BlobReader again = source_.open_blob(*m.config);
      sink_.write_blob(again);
    }
    const bool compress = sink_.traits().wants_compressed_layers &&
                          options_.compression.algorithm != Compression::kNone;
    std::vector<Descriptor> layers = m.layers;
    bool rewritten = false;
    for (std::size_t i = 0; i < layers.size(); ++i) {
      if (compress && is_uncompressed_layer(layers[i].media_type)) {
        layers[i] = compress_layer_into_sink(layers[i], config.diff_ids[i]);
        rewritten = true;
      } else {
        drain_into(source_, sink_, layers[i]);
      }
    }
    ParsedManifest out = m;
    if (rewritten) {
      out = parse_manifest(serialize_oci_manifest(*m.config, layers, m.annotations),
                           media_type::kOciManifest);
    }
    sink_.write_manifest(out, names, root);
    return out;
  }

  ParsedManifest copy_root(const ParsedManifest& root, const std::vector<std::string>& names) {
    if (!root.is_index()) return copy_manifest(root, names, true);
    if (options_.platform) {
      for (const auto& child : root.manifests) {
        if (child.platform && child.platform->matches(*options_.platform)) {
          ParsedManifest m = source_.fetch_manifest(child);
          return m.is_index() ? copy_root(m, names) : copy_manifest(m, names, true);
        }
      }
      throw InputError("index " + root.digest.str() + " has no manifest for " +
                       options_.platform->str() + "; it offers " + platforms(root));
    }
    if (!sink_.traits().accepts_index) {
      throw InputError("the destination holds single-platform images; choose one of " +
                       platforms(root) + " with --platform");
    }
    std::vector<Descriptor> children = root.manifests;
    bool rewritten = false;
    for (auto& child : children) {
      ParsedManifest m = source_.fetch_manifest(child);
      ParsedManifest written = m.is_index() ? copy_index_child(m) : copy_manifest(m, {}, false);
      if (written.digest != m.digest) {
        child.digest = written.digest;
        child.size = static_cast<std::int64_t>(written.raw.size());
        child.media_type = written.media_type;
        rewritten = true;
      }
    }
    ParsedManifest out = root;
    if (rewritten) {
      out = parse_manifest(serialize_oci_index(children, root.annotations), media_type::kOciIndex);
    }
    sink_.write_manifest(out, names, true);
    return out;
  }

 private:
  ParsedManifest copy_index_child(const ParsedManifest& nested) {
    for (const auto& child : nested.manifests) {
      ParsedManifest m = source_.fetch_manifest(child);
      if (m.is_index()) throw InputError("indexes nested more than two deep are not supported");
      copy_manifest(m, {}, false);
    }
    sink_.write_manifest(nested, {}, false);
    return nested;
  }

  static std::string platforms(const ParsedManifest& index) {
    std::string s;
    for (const auto& c : index.manifests) {
      if (!s.empty()) s += ", ";
      s += c.platform ? c.platform->str() : c.digest.str();
    }
    return s;
  }

  Descriptor compress_layer_into_sink(const Descriptor& layer, const Digest& diff_id) {
    const auto tmp_dir = std::filesystem::temp_directory_path();
    oci::StagingDir staging(tmp_dir / ("ecr-layer-" + std::to_string(::getpid())));
    const auto path = staging.path() / "layer";
    BlobReader in = source_.open_blob(layer);
    CompressedLayer c = [&] {
      oci::FileWriter out(path);
      CompressedLayer r = compress_layer(
          in, [&](std::span<const std::byte> b) { out.write(b); }, options_.compression);
      out.finish();
      return r;
    }();
    if (c.diff_id != diff_id) {
      throw IntegrityError("layer " + layer.digest.str() + " has diff_id " + c.diff_id.str() +
                           " but the config says " + diff_id.str());
    }
    Descriptor d{.media_type = std::string(options_.compression.algorithm == Compression::kZstd
                                               ? media_type::kOciLayerZstd
                                               : media_type::kOciLayerGzip),
                 .digest = c.digest,
                 .size = c.size};
    d.annotations = layer.annotations;
    if (!sink_.has_blob(d.digest)) {
      auto fd = oci::open_regular_file(path);
      BlobReader compressed(d, std::make_unique<oci::FileRangeStream>(fd, 0, c.size));
      sink_.write_blob(compressed);
    }
    return d;
  }

  ImageSource& source_;
  ImageSink& sink_;
  const CopyOptions& options_;
};

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

CopyResult copy_image(ImageSource& source, std::string_view ref, ImageSink& sink,
                      const CopyOptions& options) {
  const ParsedManifest root = source.resolve(ref);
  const std::vector<std::string> names =
      options.names.empty() ? names_of(source, root.digest) : options.names;
  Copier copier(source, sink, options);
  const ParsedManifest written = copier.copy_root(root, names);
  return CopyResult{.digest = written.digest, .media_type = written.media_type};
}

CopyResult copy_image(const ImageLocation& from, const ImageLocation& to,
                      const CopyOptions& options) {
  auto source = open_image_source(from, options.limits);
  auto sink = open_image_sink(to, options.limits);
  CopyOptions o = options;
  if (!to.ref.empty() && o.names.empty()) o.names = {to.ref};
  CopyResult r = copy_image(*source, from.ref, *sink, o);
  sink->commit();
  return r;
}

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
