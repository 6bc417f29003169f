// A read-only tree of files an image store is read from: a directory on disk or
// the entries of a tar archive. Paths are relative, '/'-separated, normalized.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "ecr/compression.hpp"
#include "ecr/image.hpp"
#include "oci/file_io.hpp"

namespace ecr::oci {

class FileTree {
 public:
  virtual ~FileTree() = default;
  // Size of the regular file at `path`, nullopt when absent. InputError when
  // the path names something other than a regular file.
  virtual std::optional<std::int64_t> file_size(std::string_view path) = 0;
  // InputError when absent or not a regular file.
  virtual std::unique_ptr<ByteStream> open(std::string_view path) = 0;
  // Whole file, InputError when larger than `max`.
  std::string read(std::string_view path, std::size_t max);
  virtual std::string describe() const = 0;
  // The file on disk whose identity stands for the bytes at `path`
  // (ImageSource::identity_file): the file itself in a directory, the
  // archive for an archive's entry.
  virtual std::filesystem::path identity_file(std::string_view path) const = 0;
};

// Normalizes an archive entry or a relative path: drops "./" and empty
// components. Throws InputError for absolute paths and any ".." component.
std::string normalize_relative_path(std::string_view path);

// Files under a directory. Symlinks are followed only while they stay inside it.
class DirectoryTree final : public FileTree {
 public:
  explicit DirectoryTree(std::filesystem::path root);
  std::optional<std::int64_t> file_size(std::string_view path) override;
  std::unique_ptr<ByteStream> open(std::string_view path) override;
  std::string describe() const override { return root_.string(); }
  std::filesystem::path identity_file(std::string_view path) const override {
    return resolve(path);
  }
  const std::filesystem::path& root() const noexcept { return root_; }

 private:
  std::filesystem::path resolve(std::string_view path) const;
  std::filesystem::path root_;
};

// The entries of a tar archive, indexed once by offset so each file is read in
// place (pread) without extracting the archive. A compressed outer tar
// (tar.gz, tar.zst) cannot be read in place; its files are extracted to a
// staging directory under the decompression limits.
//
// Refused while indexing, with InputError naming the entry: absolute paths and
// ".." components, symlinks or hardlinks whose target leaves the archive or is
// missing, entries that are neither regular files, directories nor links
// (devices, FIFOs, sparse files), duplicate names with different content, a
// truncated archive, and entry sizes past the end of the file.
class TarTree final : public FileTree {
 public:
  explicit TarTree(const std::filesystem::path& archive, const DecompressionLimits& limits = {});
  ~TarTree() override;
  std::optional<std::int64_t> file_size(std::string_view path) override;
  std::unique_ptr<ByteStream> open(std::string_view path) override;
  std::string describe() const override { return archive_.string(); }
  std::filesystem::path identity_file(std::string_view) const override { return archive_; }
  bool has(std::string_view path) const;

 private:
  struct Entry {
    enum Kind { kFile, kDirectory, kLink } kind = kFile;
    std::int64_t offset = 0;  // in `fd` (the archive, or a staged file)
    std::int64_t size = 0;
    std::shared_ptr<UniqueFd> fd;
    std::string target;  // kLink: normalized path of the target
  };
  const Entry* find(std::string_view path) const;
  void index(const DecompressionLimits& limits);
  void add(std::string name, Entry entry);
  bool same_content(const Entry& a, const Entry& b);

  std::filesystem::path archive_;
  std::shared_ptr<UniqueFd> fd_;
  std::unique_ptr<StagingDir> staging_;  // compressed outer tar only
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace ecr::oci
