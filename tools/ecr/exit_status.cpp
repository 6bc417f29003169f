#include "exit_status.hpp"

#include <CLI/Error.hpp>

#include "ecr/service_errors.hpp"
#include "ecr/transfer.hpp"
#include "usage_error.hpp"

namespace ecr::cli {

Failure describe_current_exception(std::string_view operation) {
  try {
    throw;
  } catch (const UsageError& e) {
    return {kExitUsage, std::string("ecr: error: ") + e.what() + "\n"};
  } catch (const CLI::ParseError& e) {
    return {kExitUsage, std::string("ecr: error: ") + e.what() + "\n"};
  } catch (const api::ValidationError& e) {
    // Checked against the model before sending, like botocore's parameter
    // validation, which the AWS CLI v2 reports as a usage error.
    return {kExitUsage, std::string("\nParameter validation failed: ") + e.what() + "\n"};
  } catch (const PlatformError& e) {
    std::string choices;
    for (const auto& p : e.offered()) choices += " " + p;
    return {kExitOtherError,
            "\n" + std::string(e.what()) + "; choose with --platform:" + choices + "\n"};
  } catch (const Cancelled&) {
    return {kExitCancelled, "\ninterrupted\n"};
  } catch (const ServiceError& e) {
    // `ecr image ...` names no operation; the error knows its own.
    const std::string called = operation.empty() ? e.operation() : std::string(operation);
    if (called.empty()) {
      return {kExitServiceError, "\nAn error occurred (" + e.name() + "): " + e.message() + "\n"};
    }
    // As botocore says it once retries were spent.
    const std::string retries =
        e.attempts() > 1 ? " (reached max retries: " + std::to_string(e.attempts() - 1) + ")" : "";
    return {kExitServiceError, "\nAn error occurred (" + e.name() + ") when calling the " + called +
                                   " operation" + retries + ": " + e.message() + "\n"};
  } catch (const TransportError& e) {
    return {kExitOtherError, std::string("\n") + e.what() + "\n"};
  } catch (const IntegrityError& e) {
    return {kExitOtherError, std::string("\nintegrity error: ") + e.what() + "\n"};
  } catch (const Error& e) {
    return {kExitOtherError, std::string("\n") + e.what() + "\n"};
  } catch (const std::exception& e) {
    return {kExitOtherError, std::string("\n") + e.what() + "\n"};
  } catch (...) {
    return {kExitOtherError, "\nunknown error\n"};
  }
}

}  // namespace ecr::cli
