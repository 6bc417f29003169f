// `ecr get-login-password`: the registry password from GetAuthorizationToken,
// as `aws ecr get-login-password` prints it for `docker login -u AWS
// --password-stdin`.
#pragma once

#include <string>
#include <string_view>

namespace ecr::cli {

// The password in a GetAuthorizationToken response: the first
// authorizationToken, base64-decoded, without its "AWS:" user prefix.
// Throws InputError when the response carries no token or the token is not
// base64 of "user:password".
std::string login_password(std::string_view response_json);

}  // namespace ecr::cli
