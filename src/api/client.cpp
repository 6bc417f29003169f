// ecr::Client's plumbing: configuration, the protocol client, and the one
// path every call takes (validate, send). The per-operation methods are
// generated (client_operations.cpp).
#include "ecr/client.hpp"

#include <utility>

#include "api/client_factory.hpp"
#include "api/model_table.hpp"
#include "api/serde_support.hpp"
#include "api/validate.hpp"
#include "aws/json_protocol.hpp"
#include "core/json_reader.hpp"
#include "http/transport.hpp"

namespace ecr {

struct Client::State {
  aws::JsonProtocolClient protocol;
};

namespace {

http::TransportOptions transport_options(const ClientConfig& config,
                                         const ResolvedConfig& resolved) {
  http::TransportOptions options;
  options.connect_timeout = config.connect_timeout;
  options.verify_tls = config.verify_tls;
  options.ca_bundle = resolved.ca_bundle;
  options.low_speed_time = resolved.stall_timeout;
  return options;
}

aws::JsonServiceInfo ecr_service() {
  return {std::string(api::model::service_target_prefix()),
          std::string(api::model::service_signing_name())};
}

}  // namespace

Client api::ClientFactory::over(ClientConfig config, std::shared_ptr<http::Transport> transport) {
  if (!transport) throw InputError("ecr::Client needs a transport");
  ResolvedConfig resolved = resolve_config(config);
  return over(std::move(config), std::move(resolved), std::move(transport));
}

Client api::ClientFactory::over_curl(ClientConfig config) {
  ResolvedConfig resolved = resolve_config(config);
  auto transport = http::make_curl_transport(transport_options(config, resolved));
  return over(std::move(config), std::move(resolved), std::move(transport));
}

Client api::ClientFactory::over(ClientConfig config, ResolvedConfig resolved,
                                std::shared_ptr<http::Transport> transport) {
  const int max_attempts = config.max_attempts.value_or(resolved.max_attempts);
  auto state = std::make_unique<Client::State>(Client::State{
      aws::JsonProtocolClient(std::move(transport), std::move(resolved), ecr_service(),
                              &api::throw_service_error, max_attempts, std::move(config.debug))});
  if (config.test_clock_shift != std::chrono::seconds::zero()) {
    state->protocol.set_signing_clock(aws::shifted_system_clock(config.test_clock_shift));
  }
  return Client(std::move(state));
}

Client::Client(ClientConfig config) : Client(api::ClientFactory::over_curl(std::move(config))) {}

Client::Client(std::unique_ptr<State> state) : state_(std::move(state)) {}

Client::~Client() = default;
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

const ResolvedConfig& Client::config() const { return state_->protocol.config(); }

std::string Client::send(std::string_view operation, std::string_view input_shape,
                         const std::string& body) {
  api::validate_json_text(input_shape, body);
  return state_->protocol.call(operation, body);
}

std::string Client::call_json(std::string_view operation, std::string_view request_json) {
  const api::model::OperationInfo* info = api::model::find_operation(operation);
  if (info == nullptr) {
    throw InputError("ECR has no operation named '" + std::string(operation) + "'");
  }
  // An empty request is the empty object, as botocore sends for no parameters.
  std::string body(request_json);
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) body = "{}";
  std::string response = send(info->name, info->input, body);
  if (response.find_first_not_of(" \t\r\n") == std::string::npos) return "{}";
  return response;
}

}  // namespace ecr
