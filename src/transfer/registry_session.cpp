#include "transfer/registry_session.hpp"

#include "ecr/service_errors.hpp"

namespace ecr::transfer {

namespace {
const aws::JsonServiceInfo kEcrService{"AmazonEC2ContainerRegistry_V20150921", "ecr"};
}  // namespace

RegistrySession::RegistrySession(std::shared_ptr<http::Transport> transport, ResolvedConfig config,
                                 std::shared_ptr<aws::RetryPolicy> retry,
                                 std::optional<std::string> registry_id, std::string repository)
    : transport_(transport),
      client_(std::move(transport), std::move(config), kEcrService, &api::throw_service_error,
              std::move(retry)),
      registry_id_(std::move(registry_id)),
      repository_(std::move(repository)) {}

std::unique_ptr<RegistrySession> RegistrySession::open(const ClientConfig& config,
                                                       const ImageReference& ref,
                                                       std::shared_ptr<http::Transport> transport,
                                                       const std::atomic<bool>* cancel) {
  ClientConfig c = config;
  if (!c.region && ref.region) c.region = ref.region;
  ResolvedConfig resolved = resolve_config(c);
  if (!transport) {
    http::TransportOptions t;
    t.connect_timeout = c.connect_timeout;
    t.verify_tls = c.verify_tls;
    t.ca_bundle = resolved.ca_bundle;
    t.low_speed_time = resolved.stall_timeout;
    t.abort = cancel;
    transport = http::make_curl_transport(t);
  }
  aws::RetryOptions retry;
  retry.max_attempts = resolved.max_attempts;
  retry.abort = cancel;
  auto session = std::make_unique<RegistrySession>(
      std::move(transport), std::move(resolved),
      std::make_shared<aws::RetryPolicy>(std::move(retry)), ref.registry_id, ref.repository);
  if (c.test_clock_shift != std::chrono::seconds::zero()) {
    session->client_.set_signing_clock(aws::shifted_system_clock(c.test_clock_shift));
  }
  return session;
}

}  // namespace ecr::transfer
