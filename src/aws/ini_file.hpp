// The INI dialect of ~/.aws/credentials and ~/.aws/config, read the way the
// AWS CLI reads it (Python's configparser as botocore drives it), with the
// leniencies hand-edited files need.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ecr::aws {

// Section name -> key -> value. Section names are kept as written (trimmed);
// keys are lowercased, as configparser does.
using IniSection = std::map<std::string, std::string>;
using IniSections = std::map<std::string, IniSection>;

// Parses `text`:
//   - `[name]` starts a section; `key = value` (or `key: value`) sets a key,
//     whitespace around both trimmed; a repeated section merges and a
//     repeated key keeps its last value.
//   - Blank lines and lines whose first non-blank character is '#' or ';'
//     are comments; so is the rest of a line from a '#' or ';' that follows
//     whitespace (AWS secrets never contain spaces).
//   - CRLF line ends are accepted.
//   - A key with an empty value followed by indented lines is a nested
//     sub-section (`s3 =\n  max_concurrent_requests = 4`); the whole block is
//     skipped, since nothing here reads one.
// Throws InputError "<source>:<line>: ..." for a key outside any section, a
// line that is neither a section, a key nor a comment, or an unterminated
// section header.
IniSections parse_ini(std::string_view text, std::string_view source);

// Reads and parses the file at `path`; nullopt when it does not exist (a
// missing ~/.aws file is normal). Throws InputError when it exists but cannot
// be read or parsed.
std::optional<IniSections> load_ini_file(const std::string& path);

}  // namespace ecr::aws
