// The one error kind that belongs to the command line itself: the user typed
// something the `ecr` tool cannot turn into a request (unknown option, bad
// value, missing required member). main() maps it to exit status 252, as the
// AWS CLI v2 does for "command syntax was invalid".
#pragma once

#include <string>

#include "ecr/error.hpp"

namespace ecr::cli {

// An InputError so code below main that only knows the library vocabulary
// still treats it as "the input was wrong".
class UsageError : public InputError {
 public:
  explicit UsageError(const std::string& what) : InputError(what) {}
};

}  // namespace ecr::cli
