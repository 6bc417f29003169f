// The JSON error document a service sends for an error, as ECR writes it:
// {"__type":"<name>","message":"...", <modeled fields>}. ecr-local answers
// with these; throw_service_error() reads them back.
#pragma once

#include <string>

#include "ecr/error.hpp"

namespace ecr::api {

// Modeled fields of typed errors (InvalidLayerPartException's
// lastValidByteReceived, KmsException's kmsError, ...) are included when set.
std::string error_document(const ServiceError& error);

}  // namespace ecr::api
