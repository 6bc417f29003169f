#include <system_error>

#include "ecr/error.hpp"
#include "oci/file_tree.hpp"

namespace ecr::oci {

std::string FileTree::read(std::string_view path, std::size_t max) {
  auto size = file_size(path);
  if (!size) throw InputError(describe() + ": " + std::string(path) + " is missing");
  if (static_cast<std::uint64_t>(*size) > max) {
    throw InputError(describe() + ": " + std::string(path) + " is " + std::to_string(*size) +
                     " bytes; at most " + std::to_string(max) + " are accepted");
  }
  auto in = open(path);
  return read_stream(*in, max, path);
}

std::string normalize_relative_path(std::string_view path) {
  if (!path.empty() && path.front() == '/') {
    throw InputError("path \"" + std::string(path) + "\" is absolute");
  }
  std::string out;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    const std::string_view part = path.substr(start, slash - start);
    if (part == "..") {
      throw InputError("path \"" + std::string(path) + "\" leaves its root (\"..\")");
    }
    if (!part.empty() && part != ".") {
      if (!out.empty()) out += '/';
      out += part;
    }
    start = slash + 1;
  }
  return out;
}

DirectoryTree::DirectoryTree(std::filesystem::path root) : root_(std::move(root)) {
  std::error_code ec;
  if (!std::filesystem::is_directory(root_, ec)) {
    throw InputError(root_.string() + " is not a directory");
  }
  root_ = std::filesystem::canonical(root_);
}

std::filesystem::path DirectoryTree::resolve(std::string_view path) const {
  const std::filesystem::path p = root_ / normalize_relative_path(path);
  std::error_code ec;
  const std::filesystem::path real = std::filesystem::weakly_canonical(p, ec);
  if (ec) throw InputError("cannot resolve " + p.string() + ": " + ec.message());
  // A symlink in the layout may point anywhere on the machine; refuse to
  // follow one that leaves the layout.
  const auto rel = real.lexically_relative(root_);
  if (rel.empty() || *rel.begin() == "..") {
    throw InputError(p.string() + " resolves outside " + root_.string());
  }
  return real;
}

std::optional<std::int64_t> DirectoryTree::file_size(std::string_view path) {
  const auto p = resolve(path);
  std::error_code ec;
  const auto st = std::filesystem::status(p, ec);
  if (st.type() == std::filesystem::file_type::not_found) return std::nullopt;
  if (st.type() != std::filesystem::file_type::regular) {
    throw InputError(p.string() + " is not a regular file");
  }
  return static_cast<std::int64_t>(std::filesystem::file_size(p));
}

std::unique_ptr<ByteStream> DirectoryTree::open(std::string_view path) {
  const auto p = resolve(path);
  auto fd = open_regular_file(p);
  const std::int64_t size = oci::file_size(fd->get());
  return std::make_unique<FileRangeStream>(std::move(fd), 0, size);
}

}  // namespace ecr::oci
