// DigestIndex: one small file per (source path, subkey) holding the file's
// identity when it was hashed and what it hashed to.
//
// Entry format: a header line, then nine fields, each "<decimal length>:<bytes>\n"
// (length-prefixed, so paths and subkeys may hold any byte, newlines included):
// path, device, inode, size, mtime_ns, subkey, digest, size, extra.
#include <sys/stat.h>

#include <charconv>
#include <fstream>
#include <sstream>

#include "cache/digest_index.hpp"
#include "cache/file_ops.hpp"
#include "core/file.hpp"
#include "ecr/error.hpp"

namespace ecr {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kHeader = "ecr-digest-index 1\n";
// An entry is a path, a subkey, a digest and a short string: anything bigger
// is not ours and is treated as a miss rather than read into memory.
constexpr std::uintmax_t kMaxEntryBytes = 64 * 1024;

void put_field(std::string& out, std::string_view value) {
  out += std::to_string(value.size());
  out += ':';
  out += value;
  out += '\n';
}

// Reads the next field from `in` (advancing it); nullopt when malformed.
std::optional<std::string_view> take_field(std::string_view& in) {
  auto colon = in.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::size_t length = 0;
  auto [end, err] = std::from_chars(in.data(), in.data() + colon, length);
  if (err != std::errc() || end != in.data() + colon) return std::nullopt;
  if (in.size() - colon - 1 < length + 1 || in[colon + 1 + length] != '\n') return std::nullopt;
  std::string_view value = in.substr(colon + 1, length);
  in.remove_prefix(colon + 1 + length + 1);
  return value;
}

template <typename Int>
std::optional<Int> to_int(std::optional<std::string_view> text) {
  if (!text || text->empty()) return std::nullopt;
  Int value{};
  auto [end, err] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (err != std::errc() || end != text->data() + text->size()) return std::nullopt;
  return value;
}

std::string serialize_key(const SourceFileKey& key) {
  std::string out;
  put_field(out, key.path.native());
  put_field(out, std::to_string(key.device));
  put_field(out, std::to_string(key.inode));
  put_field(out, std::to_string(key.size));
  put_field(out, std::to_string(key.mtime_ns));
  put_field(out, key.subkey);
  return out;
}

std::optional<std::pair<SourceFileKey, IndexedDigest>> parse_entry(std::string_view in) {
  if (!in.starts_with(kHeader)) return std::nullopt;
  in.remove_prefix(kHeader.size());
  SourceFileKey key;
  auto path = take_field(in);
  auto device = to_int<std::uint64_t>(take_field(in));
  auto inode = to_int<std::uint64_t>(take_field(in));
  auto size = to_int<std::int64_t>(take_field(in));
  auto mtime = to_int<std::int64_t>(take_field(in));
  auto subkey = take_field(in);
  auto digest = take_field(in);
  auto value_size = to_int<std::int64_t>(take_field(in));
  auto extra = take_field(in);
  if (!path || !device || !inode || !size || !mtime || !subkey || !digest || !value_size ||
      !extra || !in.empty() || !Digest::valid(*digest)) {
    return std::nullopt;
  }
  key.path = std::string(*path);
  key.device = *device;
  key.inode = *inode;
  key.size = *size;
  key.mtime_ns = *mtime;
  key.subkey = std::string(*subkey);
  return std::pair{std::move(key),
                   IndexedDigest{Digest::parse(*digest), *value_size, std::string(*extra)}};
}

}  // namespace

SourceFileKey SourceFileKey::of(const fs::path& file, std::string subkey) {
  std::error_code ec;
  fs::path absolute = fs::absolute(file, ec);
  if (ec) throw InputError("cache: cannot resolve " + file.string() + ": " + ec.message());
  struct stat st {};
  if (::stat(absolute.c_str(), &st) != 0) throw_file_error("stat", absolute);
  SourceFileKey key;
  key.path = absolute.lexically_normal();
  key.device = static_cast<std::uint64_t>(st.st_dev);
  key.inode = static_cast<std::uint64_t>(st.st_ino);
  key.size = static_cast<std::int64_t>(st.st_size);
  key.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  key.subkey = std::move(subkey);
  return key;
}

DigestIndex::DigestIndex(const fs::path& cache_root) : dir_(cache_root / "index") {
  cache::make_directories(dir_);
  cache::make_directories(cache_root / "tmp");
}

fs::path DigestIndex::entry_path(const SourceFileKey& key) const {
  // Named by path and subkey only, so re-recording a changed file replaces
  // its stale entry instead of piling up new ones.
  std::string name;
  put_field(name, key.path.native());
  put_field(name, key.subkey);
  return dir_ / std::string(Digest::of(name).hex());
}

std::optional<IndexedDigest> DigestIndex::lookup(const SourceFileKey& key) const {
  const fs::path p = entry_path(key);
  std::error_code ec;
  const auto size = fs::file_size(p, ec);
  if (ec || size > kMaxEntryBytes) return std::nullopt;
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  auto entry = parse_entry(text.str());
  if (!entry || entry->first != key) return std::nullopt;
  return std::move(entry->second);
}

void DigestIndex::record(const SourceFileKey& key, const IndexedDigest& value) {
  std::string text(kHeader);
  text += serialize_key(key);
  put_field(text, value.digest.str());
  put_field(text, std::to_string(value.size));
  put_field(text, value.extra);
  cache::replace_file(entry_path(key), dir_.parent_path() / "tmp", text);
}

}  // namespace ecr
