// Exit statuses of `ecr`, those of the AWS CLI v2, and the one line printed
// on stderr for each kind of failure.
//
//   0    the operation succeeded
//   252  usage: unknown operation or option, a value that does not parse, a
//        missing required member, a request the model rejects before sending
//   254  the service answered with an error
//   130  interrupted by SIGINT or SIGTERM (`ecr image copy`)
//   255  anything else: no answer (transport), bad configuration or input
//        (no region, no credentials, unreadable response), integrity errors
#pragma once

#include <exception>
#include <string>
#include <string_view>

namespace ecr::cli {

enum ExitStatus : int {
  kExitSuccess = 0,
  kExitUsage = 252,
  kExitServiceError = 254,
  kExitOtherError = 255,
  kExitCancelled = 130,
};

struct Failure {
  int status;
  std::string message;  // what to print on stderr, ending in a newline
};

// Classifies the exception being handled (call inside a catch block) for a
// call of `operation` (the model name, "DescribeRepositories"; empty before
// an operation was chosen; the error's own ServiceError::operation() then).
// Service errors read as the AWS CLI prints them: "\nAn error occurred
// (<Name>) when calling the <Operation> operation: <message>", with
// " (reached max retries: N)" after "operation" when the call was retried.
Failure describe_current_exception(std::string_view operation);

}  // namespace ecr::cli
