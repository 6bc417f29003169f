#include "transfer/image_walk.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>

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
      throw PlatformError("index " + root.digest.str() + " has no manifest for " + platform->str() +
                              "; it offers " + joined(offered),
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

namespace {

// Adds referrer `m` (an index with its children) to `plan`.
void add_referrer_content(ImageSource& source, ImagePlan& plan, const ParsedManifest& m, int level,
                          std::set<Digest>& manifest_seen, std::set<Digest>& blob_seen) {
  auto add_blob = [&](const Descriptor& d) {
    plan.referrer_blobs.insert(d.digest);
    if (blob_seen.insert(d.digest).second) plan.blobs.push_back(d);
  };
  if (!m.is_index()) {
    add_blob(*m.config);
    for (const auto& layer : m.layers) add_blob(layer);
    return;
  }
  for (const auto& child : m.manifests) {
    if (!manifest_seen.insert(child.digest).second) continue;
    ParsedManifest c = source.fetch_manifest(child);
    if (c.is_index() && level >= kMaxIndexLevels) throw_too_deep(m, child);
    add_referrer_content(source, plan, c, level + 1, manifest_seen, blob_seen);
    plan.referrer_manifests.push_back(std::move(c));
  }
}

}  // namespace

void plan_referrers(ImageSource& source, ImagePlan& plan) {
  std::set<Digest> manifest_seen;
  std::set<Digest> blob_seen;
  std::vector<Digest> subjects;
  for (const auto& m : plan.manifests) {
    manifest_seen.insert(m.digest);
    subjects.push_back(m.digest);
  }
  for (const auto& b : plan.blobs) blob_seen.insert(b.digest);
  for (int depth = 1; !subjects.empty(); ++depth) {
    std::vector<Digest> next;
    for (const Digest& subject : subjects) {
      for (const Descriptor& d : source.referrers(subject)) {
        if (!manifest_seen.insert(d.digest).second) continue;
        if (depth > kMaxReferrerDepth) {
          throw InputError("referrer " + d.digest.str() + " of " + subject.str() + " is " +
                           std::to_string(depth) + " referrers away from image " +
                           plan.root().digest.str() + "; chains longer than " +
                           std::to_string(kMaxReferrerDepth) + " are not carried");
        }
        ParsedManifest m = source.fetch_manifest(d);
        add_referrer_content(source, plan, m, 1, manifest_seen, blob_seen);
        next.push_back(m.digest);
        plan.referrer_manifests.push_back(std::move(m));
        plan.referrers.push_back(d);
      }
    }
    subjects = std::move(next);
  }
}

namespace {

// One run of the walk after planning: what the sink holds, the blobs it
// lacks, then the manifests. Each step is a member, in the order they run.
class Walk {
 public:
  Walk(ImageSource& source, ImageSink& sink, const ImagePlan& plan, const TransferOptions& options,
       TransferContext& context)
      : source_(source),
        sink_(sink),
        plan_(plan),
        traits_(sink.traits()),
        context_(context),
        compression_(options.compression, options.cache_dir) {
    // Uncompressed layers a sink wants compressed are compressed on the way,
    // unless the digest index already knows what they compress to.
    if (traits_.wants_compressed_layers && options.compression.algorithm != Compression::kNone) {
      for (const auto& d : plan_.blobs) {
        if (is_uncompressed_layer(d.media_type) && !plan_.referrer_blobs.contains(d.digest)) {
          compression_.add(source_, d);
        }
      }
    }
    // Compressing a layer gives the image another digest, and its referrers
    // name the one it has now: they would be pushed pointing at nothing.
    if (plan_.referrers.empty()) return;
    for (const auto& d : plan_.blobs) {
      if (compression_.contains(d.digest)) {
        throw InputError("layer " + d.digest.str() + " of image " + plan_.root().digest.str() +
                         " is uncompressed and would be compressed on the way, giving the image "
                         "another digest than the one its referrers name; keep the layers as "
                         "they are (compression none) to carry its referrers");
      }
    }
  }

  // Asks the sink about every blob whose digest is known before writing (a
  // layer compressed on the way is named only once it is written), then
  // checks the configs of the images whose layers will be compressed.
  void ask_sink() {
    std::vector<Descriptor> known;
    for (const auto& d : plan_.blobs) {
      if (!compression_.contains(d.digest)) {
        known.push_back(d);
      } else if (const auto& c = compression_.compressed(d.digest)) {
        known.push_back(*c);
      }
    }
    for (const auto& d : known) context_.report(d.digest, BlobState::kChecking, 0, d.size);
    const std::vector<bool> has = sink_.has_blobs(known, context_);
    for (std::size_t i = 0; i < known.size(); ++i) {
      if (has[i]) held_.insert(known[i].digest);
    }
    for (const auto& m : plan_.manifests) {
      if (m.is_index()) continue;
      for (const auto& l : m.layers) {
        if (must_compress(l.digest)) {
          check_diff_ids(source_, m, compression_);
          break;
        }
      }
    }
  }

  // Tells the sink everything it will be written, when all of it is known
  // now: when no layer is compressed on the way (such a layer, and the
  // manifests naming it, are known only once it is written).
  void announce(const std::vector<std::string>& names) {
    for (const auto& d : plan_.blobs) {
      if (compression_.contains(d.digest)) return;
    }
    sink_.expect(WritePlan{.blobs = plan_.blobs,
                           .manifests = plan_.manifests,
                           .names = names,
                           .referrer_manifests = plan_.referrer_manifests,
                           .referrers = plan_.referrers});
  }

  // Writes every blob the sink lacks: on `jobs` threads where the sink takes
  // concurrent writes, else one at a time in plan order (an archive is
  // written front to back) once the source has fetched them all.
  void write_blobs(TransferResult& result) {
    std::vector<std::optional<BlobResult>> outcomes(plan_.blobs.size());
    std::vector<std::function<void()>> writes;
    std::vector<Descriptor> fetched;
    for (std::size_t i = 0; i < plan_.blobs.size(); ++i) {
      const Descriptor& d = plan_.blobs[i];
      if (must_compress(d.digest)) {
        fetched.push_back(d);
        writes.push_back([this, &d, &outcome = outcomes[i]] { outcome = write_compressed(d); });
        continue;
      }
      // What the sink holds for it: the blob, or the layer compressed.
      const Descriptor& stored =
          compression_.contains(d.digest) ? *compression_.compressed(d.digest) : d;
      if (held_.contains(stored.digest)) {
        outcomes[i] = BlobResult{stored.digest, stored.size, BlobAction::kExists};
        result.bytes_skipped += stored.size;
        context_.report(stored.digest, BlobState::kExists, stored.size, stored.size);
        continue;
      }
      fetched.push_back(d);
      writes.push_back([this, &d, &outcome = outcomes[i]] { outcome = write(d); });
    }
    if (traits_.concurrent_writes) {
      run_all(static_cast<std::size_t>(context_.jobs()), writes);
    } else {
      source_.fetch_ahead(fetched, sink_, context_);
      for (const auto& w : writes) w();
    }
    for (auto& outcome : outcomes) {
      if (outcome->action == BlobAction::kCached) result.bytes_skipped += outcome->size;
      result.blobs.push_back(std::move(*outcome));
    }
    result.bytes_moved =
        traits_.written_as == BlobAction::kUploaded ? context_.sent() : context_.received();
  }

  // Writes the manifests, rewritten from the digests computed on the way,
  // children first, so an index names its children as written; the root
  // under `names`. Returns the root as written.
  ParsedManifest write_manifests(const std::vector<std::string>& names) {
    context_.throw_if_cancelled();
    std::map<Digest, ParsedManifest> rewritten;
    for (const auto& m : plan_.manifests) {
      ParsedManifest out =
          m.is_index() ? LayerCompression::rewrite_index(m, rewritten) : compression_.rewrite(m);
      const bool root = &m == &plan_.root();
      sink_.write_manifest(out, root ? names : std::vector<std::string>{}, root);
      if (root) {
        write_referrers();
        return out;
      }
      rewritten.emplace(m.digest, std::move(out));
    }
    throw std::logic_error("a plan ends with its root");
  }

  // The referrers' manifests as they are (by digest, after the image they
  // refer to), then the referrers listed.
  void write_referrers() {
    for (const auto& m : plan_.referrer_manifests) {
      context_.throw_if_cancelled();
      sink_.write_manifest(m, {}, false);
    }
    for (const auto& d : plan_.referrers) sink_.list_referrer(d);
  }

 private:
  bool must_compress(const Digest& layer) const {
    if (!compression_.contains(layer)) return false;
    const auto& c = compression_.compressed(layer);
    return !c || !held_.contains(c->digest);
  }

  BlobResult write_compressed(const Descriptor& layer) {
    context_.throw_if_cancelled();
    const Descriptor stored =
        sink_.write_streamed_blob(compression_.stream(source_, layer, context_), context_);
    // Recorded only now: the sink holds the blob the index names.
    compression_.written(layer.digest, stored);
    context_.report(layer.digest, BlobState::kDone, layer.size, layer.size, stored);
    return BlobResult{stored.digest, stored.size, traits_.written_as};
  }

  BlobResult write(const Descriptor& blob) {
    context_.throw_if_cancelled();
    const BlobAction action = source_.send_blob(blob, sink_, context_);
    context_.report(blob.digest, BlobState::kDone, blob.size, blob.size);
    return BlobResult{blob.digest, blob.size, action};
  }

  ImageSource& source_;
  ImageSink& sink_;
  const ImagePlan& plan_;
  const SinkTraits traits_;
  TransferContext& context_;
  LayerCompression compression_;
  std::set<Digest> held_;
};

}  // namespace

TransferResult copy_image(ImageSource& source, std::string_view ref, ImageSink& sink,
                          const std::optional<std::vector<std::string>>& names,
                          const TransferOptions& options, TransferContext& context) {
  const auto started = std::chrono::steady_clock::now();
  ImagePlan plan = plan_image(source, ref, sink, options.platform);
  if (options.referrers) {
    plan_referrers(source, plan);
    if (!plan.referrers.empty() && !sink.traits().holds_referrers) {
      throw InputError("image " + plan.root().digest.str() + " has " +
                       std::to_string(plan.referrers.size()) +
                       " referrers and the destination cannot hold referrers (a docker-archive "
                       "holds one image and no other manifests)");
    }
  }
  Walk walk(source, sink, plan, options, context);
  walk.ask_sink();
  TransferResult result{.digest = plan.root().digest,
                        .media_type = plan.root().media_type,
                        .blobs = {},
                        .bytes_moved = 0,
                        .bytes_skipped = 0,
                        .seconds = 0,
                        .referrers = plan.referrers};
  const std::vector<std::string> root_names = names ? *names : names_of(source, plan.root().digest);
  walk.announce(root_names);
  walk.write_blobs(result);
  const ParsedManifest root = walk.write_manifests(root_names);
  result.digest = root.digest;
  result.media_type = root.media_type;
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace ecr::transfer
