// libFuzzer: the AWS configuration the client reads from outside itself:
// the INI files (~/.aws/config, ~/.aws/credentials, src/aws/ini_file.hpp)
// and a credential_process command's output (src/aws/credential_process.hpp).
// The first byte picks the parser. Nothing may crash; bad input is an
// InputError; what is parsed must come from the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "aws/credential_process.hpp"
#include "aws/ini_file.hpp"
#include "ecr/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    if (data[0] % 2 == 0) {
      for (const auto& [name, section] : ecr::aws::parse_ini(text, "fuzz")) {
        if (name.size() > text.size()) std::abort();
        for (const auto& [key, value] : section) {
          if (key.empty() || key.size() + value.size() > text.size()) std::abort();
        }
      }
    } else {
      const ecr::Credentials creds =
          ecr::aws::parse_credential_process_output(text, "credential_process 'fuzz'");
      if (creds.access_key_id.empty() || creds.secret_access_key.empty()) std::abort();
      if (creds.access_key_id.size() + creds.secret_access_key.size() > text.size()) std::abort();
    }
  } catch (const ecr::InputError&) {
  }
  return 0;
}
