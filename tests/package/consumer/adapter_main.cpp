// apikeys package test consumer of one adapter target (apikeys::httplib or apikeys::curl): it must compile,
// link and send. 127.0.0.1 port 1 refuses the connection, which the adapter reports as connection_failed.
#include <chrono>
#include <cstdio>

#include <apikeys/apikeys.hpp>
#if defined(APIKEYS_CONSUMER_HTTPLIB)
#include <apikeys/transport/httplib.hpp>
using transport_type = apikeys::httplib_transport;
constexpr const char* adapter = "httplib";
#elif defined(APIKEYS_CONSUMER_CURL)
#include <apikeys/transport/curl.hpp>
using transport_type = apikeys::curl_transport;
constexpr const char* adapter = "curl";
#else
#error "define APIKEYS_CONSUMER_HTTPLIB or APIKEYS_CONSUMER_CURL"
#endif

int main() {
  std::printf("apikeys %s\n", apikeys::version_string);
  transport_type transport;
  apikeys::http_request request;
  request.method = apikeys::http_method::get;
  request.url = "http://127.0.0.1:1/api/client/v2.0/app/consumer/location";
  request.timeout = std::chrono::seconds{5};
  const auto answer = transport.send(request);
  if (answer || answer.error().code != apikeys::errc::connection_failed) {
    std::fprintf(stderr, "package consumer: the %s adapter did not report the refused connection\n", adapter);
    return 1;
  }
  std::printf("package consumer: %s adapter sends, and reports a refused connection: ok\n", adapter);
  return 0;
}
