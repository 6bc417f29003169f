// The `credential_process` setting of a profile: an external command that
// prints credentials as JSON (the AWS CLI's sourcing-external-credentials
// protocol, Version 1).
#pragma once

#include <string>
#include <string_view>

#include "ecr/config.hpp"

namespace ecr::aws {

// Runs `command` with /bin/sh -c, waits for it, and parses its stdout:
//   {"Version": 1, "AccessKeyId": "...", "SecretAccessKey": "...",
//    "SessionToken": "...", "Expiration": "..."}
// (SessionToken and Expiration optional). Throws InputError naming the
// profile and command when it cannot be started, exits non-zero (the message
// carries its stderr), or prints anything but a Version 1 document with both
// keys.
Credentials run_credential_process(const std::string& command, const std::string& profile);

// The parsing half: `out` is what the command printed, `what` names it in
// the InputError thrown for anything but a Version 1 document with both
// keys.
Credentials parse_credential_process_output(std::string_view out, const std::string& what);

}  // namespace ecr::aws
