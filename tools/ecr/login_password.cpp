#include "login_password.hpp"

#include "core/base64.hpp"
#include "ecr/error.hpp"
#include "json_value.hpp"

namespace ecr::cli {

std::string login_password(std::string_view response_json) {
  const JsonValue response = parse_service_json(response_json, "GetAuthorizationToken response");
  const JsonValue* data = response.is_object() ? response.find("authorizationData") : nullptr;
  if (data == nullptr || !data->is_array() || data->as_array().empty() ||
      !data->as_array()[0].is_object()) {
    throw InputError("GetAuthorizationToken returned no authorizationData");
  }
  const JsonValue* token = data->as_array()[0].find("authorizationToken");
  if (token == nullptr || !token->is_string()) {
    throw InputError("GetAuthorizationToken returned no authorizationToken");
  }
  const std::string decoded = base64::decode(token->as_string());
  const std::size_t colon = decoded.find(':');
  if (colon == std::string::npos) {
    throw InputError("authorizationToken is not base64 of user:password");
  }
  return decoded.substr(colon + 1);
}

}  // namespace ecr::cli
