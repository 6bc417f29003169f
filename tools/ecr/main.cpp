// `ecr`: every Amazon ECR API operation from the command line, JSON in and
// out, as `aws ecr` does. Errors are caught here only, printed as one line and
// mapped to the AWS CLI v2 exit statuses (see exit_status.hpp).
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ecr/client.hpp"
#include "exit_status.hpp"
#include "json_value.hpp"
#include "login_password.hpp"
#include "operation_command.hpp"
#include "response_output.hpp"
#include "usage_error.hpp"
#include "cache_command.hpp"
#include "image_command.hpp"

namespace {

constexpr const char* kExitStatusHelp =
    "Exit status: 0 success; 252 usage error (unknown operation or option, bad value,\n"
    "missing required option); 254 the service returned an error; 255 any other error\n"
    "(no answer from the endpoint, missing region or credentials, bad response);\n"
    "130 `ecr image copy` interrupted by SIGINT or SIGTERM.";

struct GlobalOptions {
  std::optional<std::string> region;
  std::optional<std::string> profile;
  std::optional<std::string> endpoint_url;
  std::optional<int> stall_timeout;  // seconds
  std::string output = "json";
  bool debug = false;
  bool no_paginate = false;
};

void add_global_options(CLI::App& app, GlobalOptions& globals) {
  app.add_option("--region", globals.region, "AWS region (else AWS_REGION, profile)")
      ->type_name("string");
  app.add_option("--profile", globals.profile, "profile in the shared config files")
      ->type_name("string");
  app.add_option("--endpoint-url", globals.endpoint_url, "send requests to this URL instead")
      ->type_name("URL");
  app.add_option("--stall-timeout", globals.stall_timeout,
                 "seconds without a byte before a request is retried (else ECR_STALL_TIMEOUT, 15)")
      ->type_name("seconds")
      ->check(CLI::Range(1, 3600));
  app.add_option("--output", globals.output, "output format; only json is supported")
      ->type_name("json");
  app.add_flag("--debug", globals.debug, "print requests and responses on stderr (secrets redacted)");
  app.add_flag("--no-paginate", globals.no_paginate, "fetch only the first page");
}

ecr::ClientConfig client_config(const GlobalOptions& globals) {
  if (globals.output != "json") {
    throw ecr::cli::UsageError("argument --output: only 'json' is supported, got '" +
                               globals.output + "'");
  }
  ecr::ClientConfig config;
  config.region = globals.region;
  config.profile = globals.profile;
  config.endpoint_url = globals.endpoint_url;
  if (globals.stall_timeout) config.stall_timeout = std::chrono::seconds(*globals.stall_timeout);
  if (globals.debug) {
    config.debug = [](const std::string& line) { std::cerr << line << '\n'; };
  }
  return config;
}

void run_operation_command(const ecr::cli::OperationCommand& command,
                           const GlobalOptions& globals) {
  using namespace ecr::cli;
  const auto& operation = command.operation();
  // Arguments are checked before any configuration is read, as the AWS CLI does.
  JsonValue request = build_request(operation, command.arguments());
  const PagingOptions paging = command.paging(globals.no_paginate);
  ecr::Client client(client_config(globals));
  const JsonValue result =
      ecr::cli::run_operation(operation, std::move(request), paging, [&](const JsonValue& page) {
        return parse_response(client.call_json(operation.name, to_compact_json(page)), operation);
      });
  std::cout << format_output(result) << std::flush;
}

void run_get_login_password(const GlobalOptions& globals) {
  ecr::Client client(client_config(globals));
  std::cout << ecr::cli::login_password(client.call_json("GetAuthorizationToken", "{}")) << '\n'
            << std::flush;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ecr: every Amazon ECR API operation, JSON in and out, as `aws ecr` does.\n"
               "Run `ecr OPERATION --help` for an operation's options."};
  app.name("ecr");
  app.footer(kExitStatusHelp);
  app.require_subcommand(1, 1);
  GlobalOptions globals;
  add_global_options(app, globals);
  std::string_view operation_name;
  try {
    auto commands = ecr::cli::add_operation_commands(app);
    CLI::App* login = app.add_subcommand(
        "get-login-password", "print the registry password for docker login --password-stdin");
    login->fallthrough();
    ecr::cli::add_image_command(app, [&globals] { return client_config(globals); });
    ecr::cli::add_cache_command(app);
    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
      return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
      return app.exit(e);
    }
    for (const auto& command : commands) {
      if (command->chosen()) {
        operation_name = command->operation().name;
        run_operation_command(*command, globals);
        return ecr::cli::kExitSuccess;
      }
    }
    if (login->parsed()) {
      operation_name = "GetAuthorizationToken";
      run_get_login_password(globals);
    }
    return ecr::cli::kExitSuccess;
  } catch (...) {
    const ecr::cli::Failure failure = ecr::cli::describe_current_exception(operation_name);
    std::cout << std::flush;
    std::cerr << failure.message;
    if (failure.status == ecr::cli::kExitUsage && failure.message.starts_with("ecr: error:")) {
      std::cerr << "To see help text, you can run: ecr --help, ecr OPERATION --help\n";
    }
    return failure.status;
  }
}
