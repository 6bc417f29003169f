// The libcurl transport against a real HTTP server on loopback.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "ecr/error.hpp"
#include "http/local_server.hpp"
#include "http/transport.hpp"

namespace ecr::http {
namespace {

using ecr::testing::LocalServer;

// Every byte value, so a text-mode or NUL-terminated mistake shows.
std::string binary_pattern(std::size_t size) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
  return out;
}

// A port nothing listens on: bound (so no one else takes it meanwhile) but
// never listened, then closed.
int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Holds a server handler until the test lets it go (at the latest when the
// Gate's owner goes out of scope, which must happen before the server stops).
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mutex_);
    opened_.wait(lock, [this] { return open_; });
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    opened_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable opened_;
  bool open_ = false;
};

struct GateOpener {
  std::shared_ptr<Gate> gate;
  ~GateOpener() { gate->open(); }
};

TEST(FindHeader, MatchesNameIgnoringCaseAndReturnsFirst) {
  Headers headers{
      {"Content-Type", "a"}, {"x-amzn-requestid", "id-1"}, {"X-AMZN-REQUESTID", "id-2"}};
  EXPECT_EQ(find_header(headers, "content-type"), "a");
  EXPECT_EQ(find_header(headers, "X-Amzn-RequestId"), "id-1");
  EXPECT_EQ(find_header(headers, "X-Missing"), std::nullopt);
  EXPECT_EQ(find_header(headers, "Content-Typ"), std::nullopt);
}

TEST(CurlTransport, GetReturnsExactBytesStatusAndHeaders) {
  const std::string payload = binary_pattern(4096);
  LocalServer server([&](httplib::Server& s) {
    s.Get("/blob", [&](const httplib::Request&, httplib::Response& res) {
      res.status = 203;
      res.set_header("X-Reply", "yes");
      res.set_content(payload, "application/octet-stream");
    });
  });
  auto transport = make_curl_transport();

  Response response = transport->send(Request{"GET", server.url("/blob"), {}, {}});

  EXPECT_EQ(response.status, 203);
  EXPECT_EQ(response.body, payload);
  EXPECT_EQ(find_header(response.headers, "x-reply"), "yes");
  EXPECT_EQ(find_header(response.headers, "content-length"), "4096");
}

TEST(CurlTransport, PostSendsBodyAndHeadersAsGiven) {
  std::string seen_method, seen_body, seen_target, seen_type, seen_expect;
  LocalServer server([&](httplib::Server& s) {
    s.Post("/", [&](const httplib::Request& req, httplib::Response& res) {
      seen_method = req.method;
      seen_body = req.body;
      seen_target = req.get_header_value("X-Amz-Target");
      seen_type = req.get_header_value("Content-Type");
      seen_expect = req.get_header_value("Expect");
      res.set_content("{}", "application/x-amz-json-1.1");
    });
  });
  auto transport = make_curl_transport();
  const std::string body = R"({"repositoryName":"a\u0000b"})";

  Response response =
      transport->send(Request{"POST",
                              server.url("/"),
                              {{"Content-Type", "application/x-amz-json-1.1"},
                               {"X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.ListImages"}},
                              body});

  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "{}");
  EXPECT_EQ(seen_method, "POST");
  EXPECT_EQ(seen_body, body);
  EXPECT_EQ(seen_target, "AmazonEC2ContainerRegistry_V20150921.ListImages");
  EXPECT_EQ(seen_type, "application/x-amz-json-1.1");
  EXPECT_EQ(seen_expect, "");
}

TEST(CurlTransport, BodyWithoutContentTypeIsNotLabelledAsAForm) {
  std::string seen_type = "unset";
  std::string seen_length;
  LocalServer server([&](httplib::Server& s) {
    s.Put("/upload", [&](const httplib::Request& req, httplib::Response& res) {
      seen_type = req.get_header_value("Content-Type");
      seen_length = req.get_header_value("Content-Length");
      res.status = 201;
    });
  });
  auto transport = make_curl_transport();

  Response response = transport->send(Request{"PUT", server.url("/upload"), {}, "12345"});

  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(seen_type, "");
  EXPECT_EQ(seen_length, "5");
}

TEST(CurlTransport, PutAndDeleteUseTheirMethods) {
  std::vector<std::string> seen;
  LocalServer server([&](httplib::Server& s) {
    s.Put("/x", [&](const httplib::Request& req, httplib::Response&) {
      seen.push_back("PUT " + req.body);
    });
    s.Delete("/x", [&](const httplib::Request& req, httplib::Response&) {
      seen.push_back("DELETE " + req.body);
    });
  });
  auto transport = make_curl_transport();

  transport->send(Request{"PUT", server.url("/x"), {}, "part"});
  transport->send(Request{"DELETE", server.url("/x"), {}, {}});

  EXPECT_EQ(seen, (std::vector<std::string>{"PUT part", "DELETE "}));
}

TEST(CurlTransport, ThirtyMegabytePostArrivesIntact) {
  const std::string body = binary_pattern(30u << 20);
  std::string received;
  LocalServer server([&](httplib::Server& s) {
    s.Post("/part", [&](const httplib::Request& req, httplib::Response& res) {
      received = req.body;
      res.set_content(std::to_string(req.body.size()), "text/plain");
    });
  });
  auto transport = make_curl_transport();

  Response response = transport->send(Request{"POST", server.url("/part"), {}, body});

  EXPECT_EQ(response.body, std::to_string(30u << 20));
  EXPECT_TRUE(received == body) << "received " << received.size() << " bytes";
}

// A body made in pieces as it is sent: the bytes of `whole`, handed out
// through read_at(); throws InputError once `fail_at` is reached.
class PatternSource final : public BodySource {
 public:
  explicit PatternSource(std::string whole, std::size_t fail_at = SIZE_MAX)
      : whole_(std::move(whole)), fail_at_(fail_at) {}
  std::size_t size() const override { return whole_.size(); }
  void read_at(std::size_t offset, std::span<char> out) const override {
    if (offset + out.size() > fail_at_) throw InputError("the source file shrank");
    whole_.copy(out.data(), out.size(), offset);
  }

 private:
  std::string whole_;
  std::size_t fail_at_;
};

TEST(CurlTransport, MadeBodyArrivesIntactWithItsLength) {
  const std::string body = binary_pattern((13u << 20) + 7);
  std::string received;
  std::string length;
  LocalServer server([&](httplib::Server& s) {
    s.Post("/part", [&](const httplib::Request& req, httplib::Response& res) {
      received = req.body;
      length = req.get_header_value("Content-Length");
      res.set_content("ok", "text/plain");
    });
  });
  auto transport = make_curl_transport();
  const PatternSource source(body);
  Request request{"POST", server.url("/part"), {}, {}};
  request.body_source = &source;

  const Response response = transport->send(request);

  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(length, std::to_string(body.size()));
  EXPECT_TRUE(received == body) << "received " << received.size() << " bytes";
}

TEST(CurlTransport, MadeBodyThatFailsFailsTheSendWithItsError) {
  LocalServer server([&](httplib::Server& s) {
    s.Post("/part", [&](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok", "text/plain");
    });
  });
  auto transport = make_curl_transport();
  const PatternSource source(binary_pattern(4u << 20), 3u << 20);
  Request request{"POST", server.url("/part"), {}, {}};
  request.body_source = &source;

  try {
    transport->send(request);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "the source file shrank");
  }
}

TEST(CurlTransport, ConsecutiveCallsReuseOneConnection) {
  std::mutex mutex;
  std::set<int> client_ports;
  LocalServer server([&](httplib::Server& s) {
    s.Get("/ping", [&](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mutex);
      client_ports.insert(req.remote_port);
      res.set_content("pong", "text/plain");
    });
  });
  auto transport = make_curl_transport();

  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(transport->send(Request{"GET", server.url("/ping"), {}, {}}).body, "pong");
  }

  EXPECT_EQ(client_ports.size(), 1u);
}

TEST(CurlTransport, ConcurrentCallsAllSucceed) {
  LocalServer server([&](httplib::Server& s) {
    s.Post("/echo", [&](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.body, "application/octet-stream");
    });
  });
  auto transport = make_curl_transport();
  std::atomic<int> correct{0};

  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        const std::string body = "thread " + std::to_string(t) + " call " + std::to_string(i);
        if (transport->send(Request{"POST", server.url("/echo"), {}, body}).body == body) {
          ++correct;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();

  EXPECT_EQ(correct.load(), 40);
}

TEST(CurlTransport, SinkReceivesExactBytesAndBodyStaysEmpty) {
  const std::string payload = binary_pattern(3u << 20);
  LocalServer server([&](httplib::Server& s) {
    s.Get("/blob", [&](const httplib::Request&, httplib::Response& res) {
      res.set_content(payload, "application/octet-stream");
    });
  });
  auto transport = make_curl_transport();
  std::string streamed;

  Response response =
      transport->send(Request{"GET", server.url("/blob"), {}, {}}, [&](std::string_view chunk) {
        streamed.append(chunk);
        return true;
      });

  EXPECT_EQ(response.status, 200);
  EXPECT_TRUE(response.body.empty());
  EXPECT_TRUE(streamed == payload) << "streamed " << streamed.size() << " bytes";
}

TEST(CurlTransport, SinkIsNotLimitedByTheBufferCap) {
  const std::string payload = binary_pattern(64 * 1024);
  LocalServer server([&](httplib::Server& s) {
    s.Get("/blob", [&](const httplib::Request&, httplib::Response& res) {
      res.set_content(payload, "application/octet-stream");
    });
  });
  TransportOptions options;
  options.max_response_bytes = 1024;
  auto transport = make_curl_transport(options);
  std::size_t streamed = 0;

  transport->send(Request{"GET", server.url("/blob"), {}, {}}, [&](std::string_view chunk) {
    streamed += chunk.size();
    return true;
  });

  EXPECT_EQ(streamed, payload.size());
}

TEST(CurlTransport, SinkReturningFalseAbortsTheTransfer) {
  LocalServer server([&](httplib::Server& s) {
    s.Get("/blob", [&](const httplib::Request&, httplib::Response& res) {
      res.set_content(binary_pattern(1u << 20), "application/octet-stream");
    });
  });
  auto transport = make_curl_transport();
  int calls = 0;

  try {
    transport->send(Request{"GET", server.url("/blob"), {}, {}}, [&](std::string_view) {
      ++calls;
      return false;
    });
    FAIL() << "expected TransportError";
  } catch (const TransportError& error) {
    EXPECT_EQ(std::string(error.what()).rfind("aborted by sink", 0), 0u) << error.what();
    EXPECT_FALSE(error.timeout());
  }
  EXPECT_EQ(calls, 1);
}

TEST(CurlTransport, SinkExceptionReachesTheCaller) {
  LocalServer server([&](httplib::Server& s) {
    s.Get("/blob", [&](const httplib::Request&, httplib::Response& res) {
      res.set_content("data", "application/octet-stream");
    });
  });
  auto transport = make_curl_transport();

  EXPECT_THROW(transport->send(Request{"GET", server.url("/blob"), {}, {}},
                               [](std::string_view) -> bool { throw IntegrityError("disk full"); }),
               IntegrityError);
}

TEST(CurlTransport, ErrorBodyIsBufferedEvenWithASink) {
  LocalServer server([&](httplib::Server& s) {
    s.Get("/missing", [&](const httplib::Request&, httplib::Response& res) {
      res.status = 403;
      res.set_content("<Error><Code>AccessDenied</Code></Error>", "application/xml");
    });
  });
  auto transport = make_curl_transport();
  int sink_calls = 0;

  Response response =
      transport->send(Request{"GET", server.url("/missing"), {}, {}}, [&](std::string_view) {
        ++sink_calls;
        return true;
      });

  EXPECT_EQ(response.status, 403);
  EXPECT_EQ(response.body, "<Error><Code>AccessDenied</Code></Error>");
  EXPECT_EQ(sink_calls, 0);
}

TEST(CurlTransport, BufferedBodyOverTheCapIsRefused) {
  LocalServer server([&](httplib::Server& s) {
    s.Get("/sized", [&](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(2048, 'x'), "text/plain");
    });
    // Chunked: no Content-Length announces the size, the count must catch it.
    s.Get("/chunked", [&](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("text/plain", [](size_t, httplib::DataSink& sink) {
        const std::string piece(700, 'y');
        for (int i = 0; i < 3; ++i) sink.write(piece.data(), piece.size());
        sink.done();
        return true;
      });
    });
    s.Get("/exact", [&](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(1024, 'z'), "text/plain");
    });
  });
  TransportOptions options;
  options.max_response_bytes = 1024;
  auto transport = make_curl_transport(options);

  for (const char* path : {"/sized", "/chunked"}) {
    try {
      transport->send(Request{"GET", server.url(path), {}, {}});
      ADD_FAILURE() << path << ": expected TransportError";
    } catch (const TransportError& error) {
      EXPECT_EQ(std::string(error.what()),
                "response body larger than 1024 bytes (GET " + server.url(path) + ")");
    }
  }
  EXPECT_EQ(transport->send(Request{"GET", server.url("/exact"), {}, {}}).body.size(), 1024u);
}

TEST(CurlTransport, ClosedPortIsATransportErrorNamingTheUrlWithoutQuery) {
  auto transport = make_curl_transport();
  const std::string base = "http://127.0.0.1:" + std::to_string(closed_port()) + "/v2/blob";

  try {
    transport->send(Request{"GET", base + "?X-Amz-Signature=secret", {}, {}});
    FAIL() << "expected TransportError";
  } catch (const TransportError& error) {
    const std::string what = error.what();
    EXPECT_NE(what.find("(GET " + base + ")"), std::string::npos) << what;
    EXPECT_EQ(what.find("secret"), std::string::npos) << what;
    EXPECT_FALSE(error.timeout());
  }
}

TEST(CurlTransport, StalledServerIsCutByTheLowSpeedLimit) {
  auto gate = std::make_shared<Gate>();
  LocalServer server([gate](httplib::Server& s) {
    s.Get("/stall", [gate](const httplib::Request&, httplib::Response& res) {
      gate->wait();
      res.set_content("late", "text/plain");
    });
  });
  GateOpener opener{gate};
  TransportOptions options;
  options.low_speed_bytes = 1000;
  options.low_speed_time = std::chrono::seconds(1);
  auto transport = make_curl_transport(options);

  try {
    transport->send(Request{"GET", server.url("/stall"), {}, {}});
    FAIL() << "expected TransportError";
  } catch (const TransportError& error) {
    EXPECT_TRUE(error.timeout()) << error.what();
  }
}

// A body that stops mid-way with the connection open (a half-open TCP
// connection, a dead NAT entry): cut after the stall timeout, named as such.
TEST(CurlTransport, BodyThatGoesSilentIsCutByTheStallTimeout) {
  auto gate = std::make_shared<Gate>();
  LocalServer server([gate](httplib::Server& s) {
    s.Get("/half", [gate](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("application/octet-stream",
                                       [gate](std::size_t offset, httplib::DataSink& sink) {
                                         if (offset == 0) {
                                           const std::string first(1000, 'x');
                                           return sink.write(first.data(), first.size());
                                         }
                                         gate->wait();
                                         sink.done();
                                         return true;
                                       });
    });
  });
  GateOpener opener{gate};
  TransportOptions options;
  options.low_speed_time = std::chrono::seconds(1);
  auto transport = make_curl_transport(options);

  std::size_t received = 0;
  const BodySink sink = [&](std::string_view chunk) {
    received += chunk.size();
    return true;
  };
  try {
    transport->send(Request{"GET", server.url("/half"), {}, {}}, sink);
    FAIL() << "expected TransportError";
  } catch (const TransportError& error) {
    EXPECT_TRUE(error.timeout()) << error.what();
    EXPECT_EQ(std::string(error.what()).rfind("no byte moved for 1 s (the stall timeout)", 0), 0u)
        << error.what();
  }
  EXPECT_EQ(received, 1000u);
}

// GETs `url` through a sink and expects `payload`, whole, with a 200.
void expect_streamed(Transport& transport, const std::string& url, const std::string& payload) {
  std::string streamed;
  const Response response =
      transport.send(Request{"GET", url, {}, {}}, [&](std::string_view chunk) {
        streamed.append(chunk);
        return true;
      });
  EXPECT_EQ(response.status, 200);
  EXPECT_TRUE(streamed == payload) << "streamed " << streamed.size() << " bytes";
}

// A long body is received with its socket's low-water mark raised
// (curl_transport.cpp, pace_receiving). Arriving in pieces over time, with an
// odd length, it must still come whole, its last bytes too, and the same
// connection must then answer a small request at once: a mark left raised
// would hold that answer until the stall timeout cut it.
TEST(CurlTransport, APacedBodyArrivesWholeAndItsConnectionServesTheNextRequest) {
  const std::string payload = binary_pattern((3u << 20) + 12345);
  std::mutex mutex;
  std::set<int> client_ports;
  LocalServer server([&](httplib::Server& s) {
    s.Get("/blob", [&](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard lock(mutex);
        client_ports.insert(req.remote_port);
      }
      res.set_content_provider(
          payload.size(), "application/octet-stream",
          [&](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
            return sink.write(payload.data() + offset, std::min<std::size_t>(length, 100000));
          });
    });
    s.Get("/ping", [&](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard lock(mutex);
        client_ports.insert(req.remote_port);
      }
      res.set_content("pong", "text/plain");
    });
  });
  TransportOptions options;
  options.low_speed_time = std::chrono::seconds(2);
  auto transport = make_curl_transport(options);

  for (int round = 0; round < 2; ++round) {
    expect_streamed(*transport, server.url("/blob"), payload);
    EXPECT_EQ(transport->send(Request{"GET", server.url("/ping"), {}, {}}).body, "pong");
  }
  EXPECT_EQ(client_ports.size(), 1u);
}

// A link that slows down mid-body (1 MiB at once, then 64 KiB every 150 ms):
// bytes left under a mark set for the fast part must not read as a stall.
TEST(CurlTransport, ABodyWhoseLinkSlowsDownIsNotTakenForAStall) {
  const std::string payload = binary_pattern(2u << 20);
  LocalServer server([&](httplib::Server& s) {
    s.Get("/blob", [&](const httplib::Request&, httplib::Response& res) {
      res.set_content_provider(
          payload.size(), "application/octet-stream",
          [&](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
            if (offset >= (1u << 20)) std::this_thread::sleep_for(std::chrono::milliseconds(150));
            const std::size_t piece = offset < (1u << 20) ? (1u << 20) - offset : 65536;
            return sink.write(payload.data() + offset, std::min(length, piece));
          });
    });
  });
  TransportOptions options;
  options.low_speed_time = std::chrono::seconds(1);
  auto transport = make_curl_transport(options);

  expect_streamed(*transport, server.url("/blob"), payload);
}

TEST(CurlTransport, InvalidOptionsAreRefused) {
  TransportOptions options;
  options.connect_timeout = std::chrono::milliseconds(0);
  EXPECT_THROW(make_curl_transport(options), InputError);
  options = {};
  options.max_response_bytes = 0;
  EXPECT_THROW(make_curl_transport(options), InputError);
}

TEST(CurlTransport, NonWebSchemesAreRefused) {
  auto transport = make_curl_transport();
  EXPECT_THROW(transport->send(Request{"GET", "file:///etc/passwd", {}, {}}), TransportError);
}

}  // namespace
}  // namespace ecr::http
