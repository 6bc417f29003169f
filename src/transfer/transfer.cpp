// The public entry points: resolve configuration, open the places, run the
// walk (image_walk.hpp).
#include "ecr/transfer.hpp"

#include <algorithm>

#include "transfer/ecr_sink.hpp"
#include "transfer/ecr_source.hpp"
#include "transfer/engine.hpp"
#include "transfer/image_walk.hpp"

namespace ecr {
namespace {

// A session the caller owns, shared without ownership.
std::shared_ptr<transfer::RegistrySession> borrowed(transfer::RegistrySession& session) {
  return {std::shared_ptr<transfer::RegistrySession>(), &session};
}

// Runs a transfer. Once it is cancelled, whatever the cancel interrupted (a
// request aborted in flight, a retry cut short, a range given up) is
// reported as what it is, Cancelled, not as a transport failure.
template <class Run>
auto cancellable(const TransferOptions& options, Run&& run) {
  options.validate();
  try {
    return run();
  } catch (const Cancelled&) {
    throw;
  } catch (const Error&) {
    if (options.cancel != nullptr && options.cancel->load()) throw Cancelled();
    throw;
  }
}

void add_unique(std::vector<std::string>& names, const std::string& name) {
  if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
}

// The root's names at `to`: its tag or ref, then options.tags; nullopt (the
// source's names) for a local destination with neither.
std::optional<std::vector<std::string>> names_at(const ImageLocation& to,
                                                 const TransferOptions& options) {
  std::vector<std::string> names;
  if (to.kind == LocationKind::kEcr) {
    if (to.image->tag) names.push_back(*to.image->tag);
  } else if (!to.ref.empty()) {
    names.push_back(to.ref);
  }
  for (const auto& t : options.tags) add_unique(names, t);
  if (names.empty() && to.kind != LocationKind::kEcr) return std::nullopt;
  return names;
}

std::unique_ptr<ImageSource> open_source(const ImageLocation& from, const ClientConfig& config,
                                         const TransferOptions& options) {
  if (from.kind != LocationKind::kEcr) return open_image_source(from, options.limits);
  return std::make_unique<transfer::EcrImageSource>(
      transfer::RegistrySession::open(config, *from.image, nullptr, options.cancel),
      transfer::default_ref(*from.image),
      transfer::EcrSourceOptions{.cache_dir = options.cache_dir, .cancel = options.cancel});
}

std::unique_ptr<ImageSink> open_sink(const ImageLocation& to, const ClientConfig& config,
                                     const TransferOptions& options) {
  if (to.kind != LocationKind::kEcr) return open_image_sink(to, options.limits);
  std::shared_ptr<transfer::RegistrySession> session =
      transfer::RegistrySession::open(config, *to.image, nullptr, options.cancel);
  if (options.create_repository) transfer::create_repository(*session);
  return std::make_unique<transfer::EcrImageSink>(std::move(session), options.jobs,
                                                  options.part_size);
}

ImageLocation registry(const ImageReference& ref) {
  ImageLocation loc;
  loc.kind = LocationKind::kEcr;
  loc.image = ref;
  return loc;
}

// A pull takes the host's platform unless one or all are asked for, and
// keeps the image as the registry holds it (no layer is compressed, so the
// digest pulled is the digest pushed).
TransferOptions pull_options(const TransferOptions& options) {
  TransferOptions o = options;
  if (!o.platform && !o.all_platforms) o.platform = host_platform();
  o.compression.algorithm = Compression::kNone;
  return o;
}

}  // namespace

Platform host_platform() {
#if defined(__aarch64__)
  return Platform{.os = "linux", .architecture = "arm64", .variant = "v8"};
#else
  return Platform{.os = "linux", .architecture = "amd64"};
#endif
}

TransferResult copy(const ImageLocation& from, const ImageLocation& to, const ClientConfig& config,
                    const TransferOptions& options) {
  return cancellable(options, [&] {
    auto source = open_source(from, config, options);
    auto sink = open_sink(to, config, options);
    TransferContext context(options.jobs, options.progress, options.cancel);
    TransferResult r =
        transfer::copy_image(*source, from.kind == LocationKind::kEcr ? "" : from.ref, *sink,
                             names_at(to, options), options, context);
    context.throw_if_cancelled();
    sink->commit();
    return r;
  });
}

TransferResult copy(ImageSource& source, std::string_view ref, ImageSink& sink,
                    const TransferOptions& options) {
  return cancellable(options, [&] {
    TransferContext context(options.jobs, options.progress, options.cancel);
    return transfer::copy_image(source, ref, sink,
                                options.tags.empty() ? std::nullopt : std::optional(options.tags),
                                options, context);
  });
}

PushResult push(ImageSource& source, std::string_view ref, const ImageReference& dest,
                const ClientConfig& config, const TransferOptions& options) {
  return cancellable(options, [&] {
    auto sink = open_sink(registry(dest), config, options);
    TransferContext context(options.jobs, options.progress, options.cancel);
    return transfer::copy_image(source, ref, *sink, names_at(registry(dest), options), options,
                                context);
  });
}

PushResult push(std::string_view source_location, const ImageReference& dest,
                const ClientConfig& config, const TransferOptions& options) {
  return copy(ImageLocation::parse(source_location), registry(dest), config, options);
}

PullResult pull(const ImageReference& source, ImageSink& sink,
                const std::vector<std::string>& names, const ClientConfig& config,
                const TransferOptions& options) {
  const TransferOptions o = pull_options(options);
  return cancellable(o, [&] {
    auto from = open_source(registry(source), config, o);
    TransferContext context(o.jobs, o.progress, o.cancel);
    TransferResult r = transfer::copy_image(*from, "", sink, names, o, context);
    context.throw_if_cancelled();
    sink.commit();
    return r;
  });
}

PullResult pull(const ImageReference& source, std::string_view dest_location,
                const ClientConfig& config, const TransferOptions& options) {
  return copy(registry(source), ImageLocation::parse(dest_location), config, pull_options(options));
}

PushResult copy(const ImageReference& source, const ImageReference& dest,
                const ClientConfig& config, const TransferOptions& options) {
  return copy(registry(source), registry(dest), config, options);
}

std::unique_ptr<ImageSource> open_registry_source(const ImageReference& ref,
                                                  const ClientConfig& config,
                                                  const std::atomic<bool>* cancel) {
  return std::make_unique<transfer::EcrImageSource>(
      transfer::RegistrySession::open(config, ref, nullptr, cancel), transfer::default_ref(ref),
      transfer::EcrSourceOptions{.cache_dir = std::nullopt, .cancel = cancel});
}

namespace transfer {

std::string default_ref(const ImageReference& ref) {
  return ref.digest ? ref.digest->str() : ref.tag.value_or("latest");
}

PushResult push_image(RegistrySession& session, ImageSource& source, std::string_view ref,
                      const std::vector<std::string>& tags, const TransferOptions& options) {
  options.validate();
  if (options.create_repository) create_repository(session);
  EcrImageSink sink(borrowed(session), options.jobs, options.part_size);
  TransferContext context(options.jobs, options.progress, options.cancel);
  return copy_image(source, ref, sink, tags, options, context);
}

PullResult pull_image(RegistrySession& session, const ImageReference& source, ImageSink& sink,
                      const std::vector<std::string>& names, const TransferOptions& options,
                      const DownloadTuning& tuning) {
  const TransferOptions o = pull_options(options);
  o.validate();
  EcrImageSource from(
      borrowed(session), default_ref(source),
      EcrSourceOptions{.cache_dir = o.cache_dir, .cancel = o.cancel, .tuning = tuning});
  TransferContext context(o.jobs, o.progress, o.cancel);
  PullResult r = copy_image(from, "", sink, names, o, context);
  context.throw_if_cancelled();
  sink.commit();
  return r;
}

}  // namespace transfer
}  // namespace ecr
