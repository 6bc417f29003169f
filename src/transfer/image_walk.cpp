#include "transfer/image_walk.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <set>

#include "transfer/layer_compression.hpp"
#include "transfer/parallel.hpp"

namespace ecr::transfer {
namespace {

std::vector<std::string> offered_platforms(const ParsedManifest& index) {
  std::vector<std::string> offered;
  for (const auto& c : index.manifests) {
    offered.push_back(c.platform ? c.platform->str() : c.digest.str());
  }
  return offered;
}

std::string joined(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : ", ") + i;
  return s;
}

[[noreturn]] void throw_too_deep(const ParsedManifest& index, const Descriptor& child) {
  throw InputError("index " + index.digest.str() + " names index " + child.digest.str() +
                   ": indexes nested more than " + std::to_string(kMaxIndexLevels) +
                   " levels deep are not supported");
}

// The manifest for `wanted` in `index` (at depth `level`, 1 for the root). A
// child index that names no platform (the inner indexes of an index of
// indexes) is looked inside, as containerd's platform filter does; one that
// names a matching platform is narrowed again. `offered` collects what the
// indexes hold, for the error.
std::optional<ParsedManifest> find_platform(ImageSource& source, const ParsedManifest& index,
                                            const Platform& wanted, int level,
                                            std::vector<std::string>& offered) {
  for (const auto& child : index.manifests) {
    const bool matches = child.platform && child.platform->matches(wanted);
    const bool nested = !child.platform && is_index_media_type(child.media_type);
    if (!matches && !nested) {
      offered.push_back(child.platform ? child.platform->str() : child.digest.str());
      continue;
    }
    if (nested && level >= kMaxIndexLevels) throw_too_deep(index, child);
    ParsedManifest m = source.fetch_manifest(child);
    if (!m.is_index()) {
      if (matches) return m;
      continue;
    }
    if (level >= kMaxIndexLevels) throw_too_deep(index, child);
    if (auto found = find_platform(source, m, wanted, level + 1, offered)) return found;
  }
  return std::nullopt;
}

class Planner {
 public:
  explicit Planner(ImageSource& source) : source_(source) {}

  // Adds `m` and everything it names; `level` is its index depth (1 for a
  // root index).
  void add(ParsedManifest m, int level) {
    if (!manifest_seen_.insert(m.digest).second) return;
    if (m.is_index()) {
      for (const auto& child : m.manifests) {
        ParsedManifest c = source_.fetch_manifest(child);
        if (c.is_index() && level >= kMaxIndexLevels) throw_too_deep(m, child);
        add(std::move(c), level + 1);
      }
    } else {
      add_blob(*m.config);
      for (const auto& layer : m.layers) add_blob(layer);
    }
    plan_.manifests.push_back(std::move(m));
  }

  ImagePlan take() { return std::move(plan_); }

 private:
  void add_blob(const Descriptor& d) {
    if (blob_seen_.insert(d.digest).second) plan_.blobs.push_back(d);
  }

  ImageSource& source_;
  ImagePlan plan_;
  std::set<Digest> manifest_seen_;
  std::set<Digest> blob_seen_;
};

std::vector<std::string> names_of(ImageSource& source, const Digest& digest) {
  for (const auto& image : source.list()) {
    if (image.descriptor.digest == digest) return image.names;
  }
  return {};
}

}  // namespace

ImagePlan plan_image(ImageSource& source, std::string_view ref, const ImageSink& sink,
                     const std::optional<Platform>& platform) {
  ParsedManifest root = source.resolve(ref);
  if (platform && root.is_index()) {
    std::vector<std::string> offered;
    auto found = find_platform(source, root, *platform, 1, offered);
    if (!found) {
      throw PlatformError("index " + root.digest.str() + " has no manifest for " +
                              platform->str() + "; it offers " + joined(offered),
                          offered);
    }
    root = std::move(*found);
  }
  if (root.is_index() && !sink.traits().accepts_index) {
    const auto offered = offered_platforms(root);
    throw PlatformError("the destination holds single-platform images and " + root.digest.str() +
                            " is an index: choose one of " + joined(offered) +
                            " (TransferOptions::platform)",
                        offered);
  }
  Planner planner(source);
  planner.add(std::move(root), 1);
  return planner.take();
}

TransferResult copy_image(ImageSource& source, std::string_view ref, ImageSink& sink,
                          const std::optional<std::vector<std::string>>& names,
                          const TransferOptions& options, TransferContext& context) {
  const auto started = std::chrono::steady_clock::now();
  const ImagePlan plan = plan_image(source, ref, sink, options.platform);
  const SinkTraits traits = sink.traits();

  // Uncompressed layers a sink wants compressed are compressed on the way,
  // unless the digest index already knows what they compress to.
  LayerCompression compression(options.compression, options.cache_dir);
  if (traits.wants_compressed_layers && options.compression.algorithm != Compression::kNone) {
    for (const auto& d : plan.blobs) {
      if (is_uncompressed_layer(d.media_type)) compression.add(source, d);
    }
  }
  // The sink is asked about every blob whose digest is known before writing;
  // a layer compressed on the way is named only once it is written.
  std::vector<Descriptor> known;
  for (const auto& d : plan.blobs) {
    if (!compression.contains(d.digest)) {
      known.push_back(d);
    } else if (const auto& c = compression.compressed(d.digest)) {
      known.push_back(*c);
    }
  }
  for (const auto& d : known) context.report(d.digest, BlobState::kChecking, 0, d.size);
  std::set<Digest> held;
  const std::vector<bool> has = sink.has_blobs(known, context);
  for (std::size_t i = 0; i < known.size(); ++i) {
    if (has[i]) held.insert(known[i].digest);
  }
  const auto must_compress = [&](const Digest& layer) {
    if (!compression.contains(layer)) return false;
    const auto& c = compression.compressed(layer);
    return !c || !held.contains(c->digest);
  };
  for (const auto& m : plan.manifests) {
    if (m.is_index()) continue;
    for (const auto& l : m.layers) {
      if (must_compress(l.digest)) {
        check_diff_ids(source, m, compression);
        break;
      }
    }
  }

  TransferResult result{.digest = plan.root().digest,
                        .media_type = plan.root().media_type,
                        .blobs = {},
                        .bytes_moved = 0,
                        .bytes_skipped = 0,
                        .seconds = 0};
  std::vector<std::optional<BlobResult>> outcomes(plan.blobs.size());
  std::vector<std::function<void()>> writes;
  std::vector<Descriptor> fetched;  // what the source reads for the sink as it is
  for (std::size_t i = 0; i < plan.blobs.size(); ++i) {
    const Descriptor& d = plan.blobs[i];
    if (must_compress(d.digest)) {
      fetched.push_back(d);
      writes.push_back([&, i] {
        context.throw_if_cancelled();
        const Descriptor& layer = plan.blobs[i];
        const Descriptor stored =
            sink.write_streamed_blob(compression.stream(source, layer, context), context);
        // Recorded only now: the sink holds the blob the index names.
        compression.written(layer.digest, stored);
        outcomes[i] = BlobResult{stored.digest, stored.size, traits.written_as};
        context.report(layer.digest, BlobState::kDone, layer.size, layer.size, stored);
      });
      continue;
    }
    // What the sink holds for it: the blob, or the layer compressed.
    const Descriptor& stored =
        compression.contains(d.digest) ? *compression.compressed(d.digest) : d;
    if (held.contains(stored.digest)) {
      outcomes[i] = BlobResult{stored.digest, stored.size, BlobAction::kExists};
      result.bytes_skipped += stored.size;
      context.report(stored.digest, BlobState::kExists, stored.size, stored.size);
      continue;
    }
    fetched.push_back(d);
    writes.push_back([&, i] {
      context.throw_if_cancelled();
      const Descriptor& blob = plan.blobs[i];
      const BlobAction action = source.send_blob(blob, sink, context);
      outcomes[i] = BlobResult{blob.digest, blob.size, action};
      context.report(blob.digest, BlobState::kDone, blob.size, blob.size);
    });
  }
  if (traits.concurrent_writes) {
    run_all(static_cast<std::size_t>(context.jobs()), writes);
  } else {
    // One blob at a time, in plan order (an archive is written front to
    // back), once the source has fetched them all (in parallel, if it can).
    source.fetch_ahead(fetched, sink, context);
    for (const auto& write : writes) write();
  }
  for (auto& outcome : outcomes) {
    if (outcome->action == BlobAction::kCached) result.bytes_skipped += outcome->size;
    result.blobs.push_back(std::move(*outcome));
  }
  result.bytes_moved =
      traits.written_as == BlobAction::kUploaded ? context.sent() : context.received();

  context.throw_if_cancelled();
  // Manifests are rewritten from the digests computed on the way, children
  // first, so an index names its children as written.
  const std::vector<std::string> root_names = names ? *names : names_of(source, plan.root().digest);
  std::map<Digest, ParsedManifest> rewritten;
  for (const auto& m : plan.manifests) {
    ParsedManifest out =
        m.is_index() ? LayerCompression::rewrite_index(m, rewritten) : compression.rewrite(m);
    const bool root = &m == &plan.root();
    sink.write_manifest(out, root ? root_names : std::vector<std::string>{}, root);
    if (root) {
      result.digest = out.digest;
      result.media_type = out.media_type;
    }
    rewritten.emplace(m.digest, std::move(out));
  }
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace ecr::transfer
