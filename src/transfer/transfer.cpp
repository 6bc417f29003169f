// The public entry points: resolve configuration, open the places, run the engine.
#include "ecr/transfer.hpp"

#include "ecr/image_location.hpp"
#include "transfer/engine.hpp"

namespace ecr {

namespace {
std::vector<std::string> push_tags(const ImageReference& dest, const TransferOptions& options) {
  std::vector<std::string> tags;
  if (dest.tag) tags.push_back(*dest.tag);
  for (const auto& t : options.tags) {
    if (std::find(tags.begin(), tags.end(), t) == tags.end()) tags.push_back(t);
  }
  return tags;
}

// Runs an engine call. Once the transfer is cancelled, whatever the cancel
// interrupted (a request aborted in flight, a retry cut short, a range given
// up) is reported as what it is, Cancelled, not as a transport failure.
template <class Run>
auto cancellable(const TransferOptions& options, Run&& run) {
  try {
    return run();
  } catch (const Cancelled&) {
    throw;
  } catch (const Error&) {
    if (options.cancel != nullptr && options.cancel->load()) throw Cancelled();
    throw;
  }
}
}  // namespace

PushResult push(ImageSource& source, std::string_view ref, const ImageReference& dest,
                const ClientConfig& config, const TransferOptions& options,
                std::shared_ptr<http::Transport> transport) {
  options.validate();
  return cancellable(options, [&] {
    auto session =
        transfer::RegistrySession::open(config, dest, std::move(transport), options.cancel);
    return transfer::push_image(*session, source, ref, push_tags(dest, options), options);
  });
}

PushResult push(std::string_view source_location, const ImageReference& dest,
                const ClientConfig& config, const TransferOptions& options,
                std::shared_ptr<http::Transport> transport) {
  options.validate();
  const ImageLocation location = ImageLocation::parse(source_location);
  auto source = open_image_source(location);
  return cancellable(options, [&] {
    auto session =
        transfer::RegistrySession::open(config, dest, std::move(transport), options.cancel);
    // The source's path keys push's digest index (TransferOptions::cache_dir).
    return transfer::push_image(*session, *source, location.ref, push_tags(dest, options), options,
                                location.path);
  });
}

PullResult pull(const ImageReference& source, ImageSink& sink,
                const std::vector<std::string>& names, const ClientConfig& config,
                const TransferOptions& options, std::shared_ptr<http::Transport> transport) {
  options.validate();
  return cancellable(options, [&] {
    auto session =
        transfer::RegistrySession::open(config, source, std::move(transport), options.cancel);
    return transfer::pull_image(*session, source, sink, names, options);
  });
}

PullResult pull(const ImageReference& source, std::string_view dest_location,
                const ClientConfig& config, const TransferOptions& options,
                std::shared_ptr<http::Transport> transport) {
  options.validate();
  const ImageLocation location = ImageLocation::parse(dest_location);
  auto sink = open_image_sink(location);
  std::vector<std::string> names;
  if (!location.ref.empty()) {
    names.push_back(location.ref);
  } else if (source.tag) {
    names.push_back(*source.tag);
  }
  return pull(source, *sink, names, config, options, std::move(transport));
}

}  // namespace ecr
