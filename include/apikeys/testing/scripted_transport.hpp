// apikeys::testing::scripted_transport: a Transport test double that records requests and replays answers.
#ifndef APIKEYS_TESTING_SCRIPTED_TRANSPORT_HPP
#define APIKEYS_TESTING_SCRIPTED_TRANSPORT_HPP

#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "../http.hpp"
#include "../result.hpp"
#include "../transport.hpp"
#include "../version.hpp"

namespace APIKEYS_NAMESPACE::testing {

/// Answers each request with the next scripted response or transport failure, in order, and records
/// every request it was sent, so a test can check the bytes a client sent and steer what it gets back.
/// When the script runs out it asks the fallback handler, if one is set, and otherwise fails with
/// errc::transport_error ("no scripted response"). Use it by reference:
/// `apikeys::basic_api_key_client<apikeys::testing::scripted_transport&> keys{transport, user};`
/// Thread safety: all members may be called concurrently.
class scripted_transport {
 public:
  using handler = std::function<result<http_response, transport_error>(const http_request&)>;

  /// Queues a response.
  scripted_transport& respond(http_response response) {
    std::lock_guard lock(mutex_);
    script_.emplace_back(std::move(response));
    return *this;
  }
  /// Queues a response with a JSON body (`Content-Type: application/json`), or no body and no headers
  /// when `json_body` is empty.
  scripted_transport& respond(int status, std::string json_body = {}) {
    http_response response;
    response.status = status;
    if (!json_body.empty()) response.headers.push_back({"Content-Type", "application/json"});
    response.body = std::move(json_body);
    return respond(std::move(response));
  }
  /// Queues a transport failure (no HTTP response at all).
  scripted_transport& fail(errc code, std::string message = {}) {
    std::lock_guard lock(mutex_);
    script_.emplace_back(transport_error{code, std::move(message)});
    return *this;
  }
  /// Answers every request once the script is empty.
  scripted_transport& fallback(handler h) {
    std::lock_guard lock(mutex_);
    fallback_ = std::move(h);
    return *this;
  }

  result<http_response, transport_error> send(const http_request& request) {
    handler h;
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
      if (!script_.empty()) {
        auto next = std::move(script_.front());
        script_.pop_front();
        if (auto* response = std::get_if<http_response>(&next)) return std::move(*response);
        return unexpected{std::get<transport_error>(std::move(next))};
      }
      h = fallback_;
    }
    if (h) return h(request);
    return unexpected{transport_error{errc::transport_error, "no scripted response"}};
  }

  /// Every request sent so far, in order (a copy, so it stays valid while other threads send).
  std::vector<http_request> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  /// The last request sent; an empty request if none was.
  http_request last_request() const {
    std::lock_guard lock(mutex_);
    return requests_.empty() ? http_request{} : requests_.back();
  }
  std::size_t request_count() const {
    std::lock_guard lock(mutex_);
    return requests_.size();
  }
  /// Scripted answers not yet used.
  std::size_t pending() const {
    std::lock_guard lock(mutex_);
    return script_.size();
  }
  void clear() {
    std::lock_guard lock(mutex_);
    script_.clear();
    requests_.clear();
  }

 private:
  mutable std::mutex mutex_;
  std::deque<std::variant<http_response, transport_error>> script_;
  std::vector<http_request> requests_;
  handler fallback_;
};

}  // namespace apikeys::testing

#endif  // APIKEYS_TESTING_SCRIPTED_TRANSPORT_HPP
