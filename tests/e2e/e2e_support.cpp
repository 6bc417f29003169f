#include "e2e_support.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "ecr/digest.hpp"

namespace ecr::e2e {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  EXPECT_TRUE(out.good()) << path;
}

std::string sha256(std::string_view bytes) { return Digest::of(bytes).str(); }

std::string random_bytes(std::size_t size, std::uint64_t seed) {
  std::string s(size, '\0');
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (std::size_t i = 0; i < size; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(s.data() + i, &x, std::min<std::size_t>(8, size - i));
  }
  return s;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string last_line(const std::string& text) {
  std::string last;
  for (std::string& line : lines_of(text)) {
    if (!line.empty()) last = std::move(line);
  }
  return last;
}

std::string descriptor_json(const char* media_type, const std::string& bytes,
                            const std::string& extra) {
  return std::string("{\"mediaType\":\"") + media_type + "\",\"digest\":\"" + sha256(bytes) +
         "\",\"size\":" + std::to_string(bytes.size()) + extra + "}";
}

LayoutWriter::LayoutWriter(fs::path dir) : dir_(std::move(dir)) {
  fs::create_directories(dir_ / "blobs" / "sha256");
  write_file(dir_ / "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
}

const std::string& LayoutWriter::add(const std::string& bytes) {
  write_file(dir_ / "blobs" / "sha256" / std::string(Digest::of(bytes).hex()), bytes);
  return bytes;
}

std::string LayoutWriter::add_image(const std::string& arch,
                                    const std::vector<std::string>& layers) {
  std::string diff_ids;
  std::string descriptors;
  for (const std::string& layer : layers) {
    add(layer);
    diff_ids += (diff_ids.empty() ? "\"" : ",\"") + sha256(layer) + "\"";
    descriptors += (descriptors.empty() ? "" : ",") + descriptor_json(kOciLayer, layer);
  }
  const std::string config =
      add("{\"architecture\":\"" + arch +
          "\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[" + diff_ids + "]}}");
  return add("{\"schemaVersion\":2,\"mediaType\":\"" + std::string(kOciManifest) +
             "\",\"config\":" + descriptor_json(kOciConfig, config) + ",\"layers\":[" +
             descriptors + "]}");
}

void LayoutWriter::name(const char* media_type, const std::string& root, const std::string& name) {
  write_file(dir_ / "index.json",
             "{\"schemaVersion\":2,\"manifests\":[" +
                 descriptor_json(
                     media_type, root,
                     ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"" + name + "\"}") +
                 "]}");
}

OciImage write_image(const fs::path& dir, std::string layer, const std::string& tag) {
  LayoutWriter w(dir);
  const std::string manifest = w.add_image("amd64", layer);
  w.name(kOciManifest, manifest, tag);
  OciImage image{dir, std::move(layer), {}, sha256(manifest)};
  image.layer_digest = sha256(image.layer);
  return image;
}

std::map<std::string, std::string> Summary::actions() const {
  std::map<std::string, std::string> out;
  for (const BlobLine& b : blobs) out[b.digest] = b.action;
  return out;
}

Summary parse_summary(const std::string& stdout_text, const char* bytes_key) {
  simdjson::dom::parser parser;
  const simdjson::dom::element doc = parser.parse(last_line(stdout_text));
  Summary s;
  s.digest = std::string(std::string_view(doc["digest"]));
  for (const simdjson::dom::element b : doc["blobs"].get_array()) {
    s.blobs.push_back({std::string(std::string_view(b["digest"])), std::int64_t(b["size"]),
                       std::string(std::string_view(b["action"]))});
  }
  s.bytes = std::int64_t(doc[bytes_key]);
  return s;
}

void EcrLocalSuite::SetUpTestSuite() {
  server_ = std::make_unique<testing::EcrLocalServer>();
  work_ = server_->directory() / "work";
  fs::create_directories(work_);
}

void EcrLocalSuite::TearDownTestSuite() {
  // ecr-local exits 0 on SIGTERM; anything else (a sanitizer report, a
  // crash) is a failure of the server, with its log shown.
  const int status = server_->stop();
  EXPECT_EQ(status, 0) << "ecr-local exited with " << status << "; log:\n" << server_->log();
  server_.reset();
}

testing::ProcessOptions tool_options(const std::string& binary, const std::string& endpoint_url,
                                     const std::vector<std::string>& args,
                                     const std::filesystem::path& work) {
  testing::ProcessOptions opts;
  opts.argv = {binary, "--endpoint-url", endpoint_url};
  opts.argv.insert(opts.argv.end(), args.begin(), args.end());
  opts.env = testing::EcrLocalServer::tool_env();
  opts.env["XDG_CACHE_HOME"] = (work / "xdg-cache").string();
  return opts;
}

testing::ProcessOptions EcrLocalSuite::tool(const std::string& binary,
                                            const std::vector<std::string>& args) {
  return tool_options(binary, server_->endpoint_url(), args, work_);
}

testing::ProcessResult EcrLocalSuite::run(const std::string& binary,
                                          const std::vector<std::string>& args) {
  return testing::run_process(tool(binary, args), kToolTimeout);
}

Summary EcrLocalSuite::run_json(const std::string& binary, const std::vector<std::string>& args,
                                const char* bytes_key) {
  std::vector<std::string> argv = {"--json", "--quiet"};
  argv.insert(argv.end(), args.begin(), args.end());
  const testing::ProcessResult r = run(binary, argv);
  EXPECT_EQ(r.exit_status, 0) << binary << " failed\nstdout: " << r.stdout_text
                              << "\nstderr: " << r.stderr_text;
  if (r.exit_status != 0) return {};
  return parse_summary(r.stdout_text, bytes_key);
}

TwoPlatformImage write_two_platform_layout(const std::filesystem::path& dir,
                                           const std::string& name) {
  LayoutWriter w(dir);
  TwoPlatformImage image;
  image.amd = w.add_image("amd64", random_bytes(3000, 1));
  image.arm = w.add_image("arm64", random_bytes(5000, 2));
  image.index = w.add(
      "{\"schemaVersion\":2,\"mediaType\":\"" + std::string(kOciIndex) + "\",\"manifests\":[" +
      descriptor_json(kOciManifest, image.amd,
                      ",\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}") +
      "," +
      descriptor_json(kOciManifest, image.arm,
                      ",\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\"}") +
      "]}");
  w.name(kOciIndex, image.index, name);
  return image;
}

void EcrLocalBehindProxy::SetUp() {
  server_ = std::make_unique<testing::EcrLocalServer>(
      std::vector<std::string>{"--public-url", proxy_.url()});
  proxy_.set_upstream_port(server_->port());
  work_ = server_->directory() / "work";
  fs::create_directories(work_);
}

void EcrLocalBehindProxy::TearDown() {
  const int status = server_->stop();
  EXPECT_EQ(status, 0) << "ecr-local exited with " << status << "; log:\n" << server_->log();
}

}  // namespace ecr::e2e
