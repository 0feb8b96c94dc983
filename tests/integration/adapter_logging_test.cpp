// apikeys tests: the adapters' own log events over loopback: a new connection, then reuse of the pooled one,
// and each followed redirect, for cpp-httplib and (when built) libcurl.
#include <apikeys/log.hpp>
#include <apikeys/transport/httplib.hpp>
#if APIKEYS_TEST_HAVE_CURL
#include <apikeys/transport/curl.hpp>
#endif

#include <doctest/doctest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "support/loopback_server.hpp"

namespace {

struct captured {
  std::mutex mutex;
  std::vector<std::string> lines;
  apikeys::log_sink sink() {
    return apikeys::log_sink([this](const apikeys::log_event& e) {
      const std::lock_guard lock(mutex);
      lines.push_back(apikeys::detail::describe(e));
    }, apikeys::log_level::trace);
  }
};

// "/old?token=..." answers 308 to "/new?token=...", which answers 200; anything else 200 too.
apikeys_tests::loopback_server make_server() {
  return apikeys_tests::loopback_server([](const httplib::Request& req, httplib::Response& res) {
    if (req.path == "/old") {
      res.status = 308;
      res.set_header("Location", "/new?token=s3cr3t-query-value");
      return;
    }
    res.status = 200;
    res.set_content("{}", "application/json");
  });
}

template <class Transport, class Options>
void check_adapter(const char* name) {
  INFO(name);
  auto server = make_server();
  captured log;
  Options options;
  options.logger = log.sink();
  Transport transport{options};
  const std::string origin = "http://127.0.0.1:" + std::to_string(server.port());

  apikeys::http_request request;
  request.url = server.url("/first");
  request.timeout = std::chrono::milliseconds{5000};
  REQUIRE(transport.send(request));
  REQUIRE(transport.send(request));
  request.method = apikeys::http_method::post;
  request.url = server.url("/old?token=s3cr3t-query-value");
  request.body = "{}";
  const auto redirected = transport.send(request);
  REQUIRE(redirected);
  CHECK(redirected->status == 200);

  const std::lock_guard lock(log.mutex);
  const std::vector<std::string> want{
      "apikeys trace connect host=" + origin,
      "apikeys trace connection_reused host=" + origin,
      "apikeys trace connection_reused host=" + origin,
      "apikeys debug redirect status=308 method=POST route=/new host=" + origin,
      "apikeys trace connection_reused host=" + origin,
  };
  CHECK(log.lines == want);
  for (const auto& line : log.lines) CHECK(line.find("s3cr3t") == std::string::npos);
}

TEST_CASE("httplib_transport reports connect, connection_reused and redirect") {
  check_adapter<apikeys::httplib_transport, apikeys::httplib_transport_options>("httplib");
}

#if APIKEYS_TEST_HAVE_CURL
TEST_CASE("curl_transport reports connect, connection_reused and redirect") {
  check_adapter<apikeys::curl_transport, apikeys::curl_transport_options>("curl");
}
#endif

TEST_CASE("an adapter without a sink reports nothing and works as before") {
  auto server = make_server();
  apikeys::httplib_transport transport;
  apikeys::http_request request;
  request.url = server.url("/old");
  const auto answer = transport.send(request);
  REQUIRE(answer);
  CHECK(answer->status == 200);
  CHECK_FALSE(transport.options().logger);
}

}  // namespace
