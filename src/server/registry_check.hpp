// An offline consistency check of an ecr-local root (`ecr-local check`):
// every blob file against its name, every metadata row against the files,
// every image against its manifest, and what a crash left behind.
//
// It removes and repairs nothing: unlike opening a Registry, it sweeps no
// upload or temp file, so it shows a root exactly as a crash left it.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace ecr::server {

struct CheckFinding {
  enum class Kind {
    // Problems: the root breaks a promise of the storage rules
    // (docs/ecr-local.md, Storage).
    kDamaged,   // bytes that do not match the digest or size naming them
    kMissing,   // a row naming a file, layer or image that is not there
    kInvalid,   // an image row that disagrees with its own manifest
    kDatabase,  // SQLite's integrity or foreign-key check failed
    kUnknown,   // a file under blobs/ that ecr-local never writes
    // Not a problem: what a crash leaves, removed by the next start (temp
    // and upload files) or by garbage collection (blobs no repository holds).
    kLeftover,
  };
  Kind kind;
  std::string text;  // one line naming the file, digest or row
};

struct CheckReport {
  std::vector<CheckFinding> findings;
  std::size_t blobs = 0;    // blob files hashed
  std::size_t images = 0;   // image rows checked
  std::size_t uploads = 0;  // upload sessions checked
  std::size_t problems() const;
  std::size_t leftovers() const { return findings.size() - problems(); }
};

// Checks the root: blobs/sha256 (each file hashes to its name; temp files),
// uploads/ (a session for each file, each session's acknowledged bytes on
// disk), metadata.db (SQLite's integrity and foreign keys; each layer row's
// file there with its recorded size; each image's manifest hashing to its
// digest, parsing, and naming only layers its repository holds and records
// as referenced, and child manifests the repository has). Findings are
// sorted by kind, then text. Throws InputError when `root` holds no
// metadata.db; ServiceError ServerException when it cannot be read.
CheckReport check_root(const std::filesystem::path& root);

// "damaged: blob sha256:...: its bytes hash to sha256:..."
std::string to_string(const CheckFinding& finding);
// "checked 12 blobs, 4 images, 1 upload session: consistent" (then "; 2
// leftovers, removed by the next start or gc" when there are some), or
// "...: 3 problems (1 damaged, 2 missing)".
std::string check_summary(const CheckReport& report);

}  // namespace ecr::server
