// libFuzzer: what ecr-local reads from a request to authenticate it
// (src/aws/sigv4.hpp): the Authorization header, the headers a signature
// covers and a pre-signed URL's query. One field per line: Authorization,
// X-Amz-Date, Host, the request target. Nothing may crash, bad input is a
// verification failure (or an InputError from the header parser), and no
// input verifies without the secret.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "aws/sigv4.hpp"
#include "ecr/error.hpp"
#include "fuzz_fields.hpp"
#include "http/transport.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::string_view fields[4];
  const std::string_view rest = ecr::fuzz::split_fields(bytes, fields);
  try {
    const ecr::aws::ParsedAuthorization auth = ecr::aws::parse_authorization(fields[0]);
    if (auth.access_key_id.size() + auth.signature.size() > fields[0].size()) std::abort();
  } catch (const ecr::InputError&) {
  }
  ecr::http::Headers headers;
  headers.emplace_back("Authorization", std::string(fields[0]));
  headers.emplace_back("X-Amz-Date", std::string(fields[1]));
  headers.emplace_back("Host", std::string(fields[2]));
  const auto lookup = [](std::string_view key) -> std::optional<std::string> {
    if (key == "AKIDFUZZ") return std::string("fuzz-secret");
    return std::nullopt;
  };
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
  const std::string target = fields[3].empty() ? "/" : std::string(fields[3]);
  if (ecr::aws::verify_headers("POST", target, headers, rest, lookup, now).ok()) std::abort();
  if (ecr::aws::verify_presigned("GET", target, headers, lookup, now).ok()) std::abort();
  return 0;
}
