// The credentials chain of the AWS CLI, minus the providers that need the
// network (SSO, assume-role, IMDS, container credentials).
#pragma once

#include <optional>
#include <string>

#include "aws/shared_config.hpp"
#include "ecr/config.hpp"

namespace ecr::aws {

// First match wins:
//   1. `given` (ClientConfig::credentials);
//   2. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN);
//   3. aws_access_key_id + aws_secret_access_key (+ aws_session_token) of
//      `profile` in the shared credentials file;
//   4. the same keys of `profile` in the config file;
//   5. `credential_process` of `profile` (either file).
// Throws InputError when only half of a key pair is set somewhere (naming
// where), when credential_process fails, or when nothing is found (listing
// every place searched).
Credentials resolve_credentials(const std::optional<Credentials>& given, const std::string& profile,
                                const SharedConfig& shared, const Environment& env);

}  // namespace ecr::aws
