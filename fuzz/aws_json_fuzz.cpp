// libFuzzer: ecr-local's ECR API (POST /, awsJson1_1) past authentication:
// the request's headers and body through RegistryServer's own routes
// (screen, then handle: X-Amz-Target dispatch, the model's validation, the
// operation on a real Registry, the encoded answer or error document),
// reached through RegistryServer::exchange_for_fuzzing, a door only fuzzing
// builds have (ECR_FUZZING). The server runs with require_auth off, as
// `ecr-local --no-auth` does, so fuzzed requests need no signature. One
// Registry in a temporary root serves the whole run, so state one input
// creates (repositories, uploads, images) is there for the next.
//
// Input: one field per line, X-Amz-Target, Content-Type and Host (none
// when empty); the rest is the body of a POST /.
//
// Every response must carry a request id and a status this door answers
// with; a 200 is a JSON document the client's deserializer for that
// operation reads; anything else is an
// ECR error document whose __type is the x-amzn-ErrorType header. No
// exception may escape the routes, and no request may end in the catch-all
// "Internal error" (an exception no handler expected).
#include <simdjson.h>
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "ecr/error.hpp"
#include "fuzz_fields.hpp"
#include "response_shapes.hpp"
#include "server/http_server.hpp"

namespace {

constexpr std::string_view kTargetPrefix = "AmazonEC2ContainerRegistry_V20150921.";

// The server and its temporary root, removed when the run ends.
class FuzzedServer {
 public:
  FuzzedServer()
      : root_(make_root()),
        server_(std::make_unique<ecr::server::RegistryServer>(options(root_))) {}
  FuzzedServer(const FuzzedServer&) = delete;
  FuzzedServer& operator=(const FuzzedServer&) = delete;
  ~FuzzedServer() {
    server_.reset();
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  ecr::server::RegistryServer& server() { return *server_; }

 private:
  static std::filesystem::path make_root() {
    std::string dir =
        (std::filesystem::temp_directory_path() / "ecr-aws-json-fuzz-XXXXXX").string();
    if (::mkdtemp(dir.data()) == nullptr) std::abort();
    return dir;
  }
  static ecr::server::ServerOptions options(const std::filesystem::path& root) {
    ecr::server::ServerOptions o;
    o.root = root;
    o.require_auth = false;
    o.maintenance_interval = std::chrono::seconds(0);
    o.http.io_threads = 1;
    o.http.handler_threads = 1;
    o.log_level = ecr::server::LogLevel::kError;
    return o;
  }

  std::filesystem::path root_;
  std::unique_ptr<ecr::server::RegistryServer> server_;
};

[[noreturn]] void fail(const char* what, const ecr::server::HttpResponse& response) {
  std::fprintf(stderr, "aws_json_fuzz: %s (status %d)\n%s\n", what, response.status,
               response.body.c_str());
  std::abort();
}

const ecr::fuzz::ResponseShape* shape_of(std::string_view operation) {
  for (const auto& shape : ecr::fuzz::kResponseShapes) {
    if (shape.operation == operation) return &shape;
  }
  return nullptr;
}

void check_success(std::string_view target, const ecr::server::HttpResponse& response) {
  if (response.header("Content-Type") != "application/x-amz-json-1.1") {
    fail("a 200 without the awsJson content type", response);
  }
  if (!target.starts_with(kTargetPrefix)) fail("a 200 for a target without the prefix", response);
  const ecr::fuzz::ResponseShape* shape = shape_of(target.substr(kTargetPrefix.size()));
  if (shape == nullptr) fail("a 200 for an operation the model lacks", response);
  try {
    // Not checked against the model's constraints: those describe requests
    // (ECR itself answers ListImages on an empty repository with
    // "imageIds":[], below the list's minimum of 1).
    (void)shape->reserialize(response.body);
  } catch (const ecr::Error& e) {
    std::fprintf(stderr, "aws_json_fuzz: %.*s answered what its response shape refuses: %s\n",
                 static_cast<int>(shape->operation.size()), shape->operation.data(), e.what());
    fail("invalid response", response);
  }
}

void check_error(const ecr::server::HttpResponse& response) {
  const std::string_view type = response.header("x-amzn-ErrorType");
  if (type.empty()) fail("an error without x-amzn-ErrorType", response);
  simdjson::dom::parser parser;
  simdjson::dom::object document;
  if (parser.parse(response.body).get_object().get(document) != simdjson::SUCCESS) {
    fail("an error body that is not a JSON object", response);
  }
  std::string_view name;
  if (document["__type"].get_string().get(name) != simdjson::SUCCESS || name != type) {
    fail("an error document whose __type is not x-amzn-ErrorType", response);
  }
  simdjson::dom::element message;
  if (document["message"].get(message) == simdjson::SUCCESS && !message.is_string()) {
    fail("an error document whose message is not a string", response);
  }
  if (response.status == 500 && name == "ServerException") {
    std::string_view text;
    if (message.get_string().get(text) == simdjson::SUCCESS && text == "Internal error") {
      fail("an exception no handler expected", response);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static FuzzedServer fuzzed;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::string_view fields[3];
  const std::string_view body = ecr::fuzz::split_fields(bytes, fields);

  ecr::server::HttpRequest request;
  request.method = "POST";
  request.target = "/";
  request.path = "/";
  request.headers.emplace_back("X-Amz-Target", std::string(fields[0]));
  request.headers.emplace_back("Content-Type", std::string(fields[1]));
  if (!fields[2].empty()) request.headers.emplace_back("Host", std::string(fields[2]));
  request.content_length = body.size();

  const ecr::server::HttpResponse response =
      fuzzed.server().exchange_for_fuzzing(std::move(request), body);
  if (response.header("x-amzn-RequestId").empty())
    fail("a response without a request id", response);
  switch (response.status) {
    case 200:
      check_success(fields[0], response);
      break;
    case 400:
    case 413:
    case 500:
      check_error(response);
      break;
    default:
      fail("a status this door never answers with", response);
  }
  return 0;
}
