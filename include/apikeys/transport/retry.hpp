// apikeys::retrying_transport: retries idempotent requests over any Transport, with backoff and Retry-After.
#ifndef APIKEYS_TRANSPORT_RETRY_HPP
#define APIKEYS_TRANSPORT_RETRY_HPP

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "../http.hpp"
#include "../log.hpp"
#include "../result.hpp"
#include "../secret.hpp"
#include "../transport.hpp"
#include "../version.hpp"

namespace APIKEYS_NAMESPACE {

/// How hard retrying_transport tries. The defaults are conservative: three attempts within 30 seconds.
struct retry_options {
  /// Attempts in all, the first included: 1 turns retries off (0 counts as 1).
  std::size_t max_attempts = 3;
  /// The backoff before the first retry; each later one is `backoff_multiplier` times the one before.
  std::chrono::milliseconds initial_backoff{200};
  double backoff_multiplier = 2.0;
  /// No single delay is longer, after jitter too. A Retry-After asking for more ends the retries instead:
  /// the server said when it will be ready, and coming back sooner would only be refused again.
  std::chrono::milliseconds max_backoff{10'000};
  /// Bounds attempts and delays together: a delay that would reach it is not taken, and each attempt's
  /// timeout is cut to the time left. Zero or less means no bound on the total.
  std::chrono::milliseconds max_total{30'000};
  /// The statuses retried, for GET, PUT and DELETE only.
  std::vector<int> retry_statuses{429, 502, 503, 504};
  /// Told of each retry (a `retry` event at warn: the attempt about to start, why, the wait); off by default.
  /// The wrapper is a transport, so it has its own sink: give it the app's (`config.logger`) to see both.
  log_sink logger{};
};

/// The clocks retrying_transport reads and the way it waits, replaceable so that tests run in no time.
/// An empty member means the real one: steady_clock::now, this_thread::sleep_for, system_clock::now.
/// When the wrapper is shared between threads these are called concurrently.
struct retry_clock {
  std::function<std::chrono::steady_clock::time_point()> now;
  std::function<void(std::chrono::milliseconds)> sleep;
  /// Only to turn a Retry-After HTTP-date into a delay.
  std::function<std::chrono::system_clock::time_point()> wall_now;
};

/// Given the computed backoff, returns the delay actually slept. Called concurrently when the wrapper is.
using jitter_function = std::function<std::chrono::milliseconds(std::chrono::milliseconds)>;

/// The default jitter: uniform in [d/2, d], so that clients failing together do not retry together.
inline std::chrono::milliseconds default_jitter(std::chrono::milliseconds d) {
  if (d.count() <= 1) return d;
  // One generator per thread: no lock, and no shared state between the threads of a shared wrapper.
  thread_local std::mt19937_64 generator{
      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
      static_cast<std::uint64_t>(std::hash<std::thread::id>{}(std::this_thread::get_id()))};
  std::uniform_int_distribution<std::chrono::milliseconds::rep> pick(d.count() - d.count() / 2, d.count());
  return std::chrono::milliseconds{pick(generator)};
}

namespace detail {

// RFC 9110 section 5.6.7 IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT": the form servers must send. The two
// obsolete forms are not read; a Retry-After in one of them is ignored and the backoff used instead.
inline std::optional<std::chrono::sys_seconds> parse_imf_fixdate(std::string_view s) noexcept {
  if (s.size() != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' || s[19] != ':' ||
      s[22] != ':' || s.substr(25) != " GMT")
    return std::nullopt;
  constexpr std::string_view days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  if (std::find(std::begin(days), std::end(days), s.substr(0, 3)) == std::end(days)) return std::nullopt;
  constexpr std::string_view months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto month = std::find(std::begin(months), std::end(months), s.substr(8, 3));
  if (month == std::end(months)) return std::nullopt;
  const auto number = [&](std::size_t at, std::size_t width) -> int {
    int n = 0;
    for (std::size_t i = at; i < at + width; ++i) {
      if (s[i] < '0' || s[i] > '9') return -1;
      n = n * 10 + (s[i] - '0');
    }
    return n;
  };
  const int day = number(5, 2), year = number(12, 4), hour = number(17, 2), minute = number(20, 2),
            second = number(23, 2);
  // 60 is a leap second, which IMF-fixdate allows.
  if (day < 0 || year < 0 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60)
    return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year{year},
                                         std::chrono::month{static_cast<unsigned>(month - std::begin(months) + 1)},
                                         std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) return std::nullopt;
  return std::chrono::sys_days{date} + std::chrono::hours{hour} + std::chrono::minutes{minute} +
         std::chrono::seconds{second};
}

// The wait a Retry-After value asks for: delta-seconds or an HTTP-date (a past date is no wait); nullopt
// when it is neither. A huge number saturates rather than wrapping into a short wait.
inline std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                                  std::chrono::system_clock::time_point wall_now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    using rep = std::chrono::milliseconds::rep;
    constexpr rep limit = std::chrono::milliseconds::max().count() / 1000;
    rep seconds = 0;
    for (char c : value) {
      seconds = seconds * 10 + (c - '0');
      if (seconds > limit) return std::chrono::milliseconds::max();
    }
    return std::chrono::milliseconds{seconds * 1000};
  }
  const auto date = parse_imf_fixdate(value);
  if (!date) return std::nullopt;
  if (*date <= wall_now) return std::chrono::milliseconds{0};
  return std::chrono::ceil<std::chrono::milliseconds>(*date - wall_now);
}

// PUT and DELETE mean the same done twice as once (RFC 9110 section 9.2.2); POST here creates a key or a
// session, so a second one is a second key or session.
constexpr bool idempotent(http_method m) noexcept { return m != http_method::post; }

// The copy of a request made to cut its timeout holds the bearer token and body too: wipe it when done.
struct wiped_request {
  std::optional<http_request> request;
  wiped_request() = default;
  wiped_request(const wiped_request&) = delete;
  wiped_request& operator=(const wiped_request&) = delete;
  ~wiped_request() {
    if (!request) return;
    for (auto& h : request->headers)
      if (iequals(h.name, "authorization")) secure_wipe(h.value.data(), h.value.size());
    secure_wipe(request->body.data(), request->body.size());
  }
};

}  // namespace detail

/// A Transport that sends through another and retries what is safe to retry:
/// - GET, PUT and DELETE (fetch, fetch all, profile, location, enable, disable, delete, log out) are
///   retried after any transport failure and on the statuses in retry_options::retry_statuses;
/// - POST (create, log in, register, refresh) is retried only after errc::connection_failed (refused,
///   unreachable, DNS), which proves the request never reached the server; never after a timeout, a reset
///   or any other failure, and never on any status, since the server may have acted on it already.
/// Delays grow exponentially from initial_backoff, through the jitter, capped by max_backoff; a
/// Retry-After on a retried status (seconds or IMF-fixdate) replaces the backoff, without jitter. The last
/// answer is returned as it came, so the client reports what the server said; a transport error retried
/// at least once gets " (after N attempts)" on its message. The request is sent byte-identical each time;
/// only its timeout is cut to what is left of max_total. send() only: a wrapper over an async_send-only
/// transport is refused, because waiting between attempts would block the transport's own thread.
///
/// Transport may be a reference type (`my_transport&`), as clients take it. Thread safety: send() may be
/// called concurrently when the inner transport's send() may and the clock and jitter functions may be;
/// the wrapper holds no mutable state of its own.
template <class Transport>
class retrying_transport {
  static_assert(transport<std::remove_reference_t<Transport>>,
                "apikeys: retrying_transport needs an inner Transport with `send(const apikeys::http_request&)`");

 public:
  using inner_type = Transport;

  explicit retrying_transport(Transport inner, retry_options options = {}, retry_clock clock = {},
                              jitter_function jitter = {})
      : inner_(std::forward<Transport>(inner)),
        options_(std::move(options)),
        clock_(std::move(clock)),
        jitter_(std::move(jitter)) {
    if (options_.max_attempts == 0) options_.max_attempts = 1;
    if (!clock_.now) clock_.now = [] { return std::chrono::steady_clock::now(); };
    if (!clock_.sleep) clock_.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
    if (!clock_.wall_now) clock_.wall_now = [] { return std::chrono::system_clock::now(); };
    if (!jitter_) jitter_ = &default_jitter;
  }

  result<http_response, transport_error> send(const http_request& request) {
    using std::chrono::milliseconds;
    const bool bounded = options_.max_total > milliseconds::zero();
    const auto start = clock_.now();
    const auto time_left = [&] {
      return options_.max_total - std::chrono::ceil<milliseconds>(clock_.now() - start);
    };
    detail::wiped_request capped;
    for (std::size_t attempt = 1;; ++attempt) {
      const http_request* sent = &request;
      if (bounded) {
        const milliseconds left = std::max(time_left(), milliseconds{1});
        if (request.timeout <= milliseconds::zero() || request.timeout > left) {
          if (!capped.request) capped.request.emplace(request);
          capped.request->timeout = left;
          sent = &*capped.request;
        }
      }
      auto answer = apikeys::detail::guarded_send(inner_, *sent);
      if (attempt >= options_.max_attempts || !retryable(request.method, answer))
        return finish(std::move(answer), attempt);
      const auto delay = delay_before(attempt, answer);
      if (!delay || (bounded && *delay >= time_left())) return finish(std::move(answer), attempt);
      if (options_.logger.enabled(log_level::warn)) [[unlikely]] note_retry(request, attempt + 1, answer, *delay);
      clock_.sleep(*delay);
    }
  }

  std::remove_reference_t<Transport>& inner() noexcept { return inner_; }
  const retry_options& options() const noexcept { return options_; }

 private:
  bool retryable(http_method method, const result<http_response, transport_error>& answer) const {
    if (!answer) return detail::idempotent(method) || answer.error().code == errc::connection_failed;
    if (!detail::idempotent(method)) return false;
    const auto& statuses = options_.retry_statuses;
    return std::find(statuses.begin(), statuses.end(), answer->status) != statuses.end();
  }

  // The wait before attempt `attempt + 1`, or nullopt when a Retry-After asks for more than max_backoff.
  std::optional<std::chrono::milliseconds> delay_before(std::size_t attempt,
                                                        const result<http_response, transport_error>& answer) const {
    using std::chrono::milliseconds;
    if (answer) {
      if (const auto* value = find_header(answer->headers, "Retry-After")) {
        if (const auto asked = detail::parse_retry_after(*value, clock_.wall_now())) {
          if (*asked > options_.max_backoff) return std::nullopt;
          return *asked;
        }
      }
    }
    double backoff = static_cast<double>(options_.initial_backoff.count());
    for (std::size_t i = 1; i < attempt && backoff < static_cast<double>(options_.max_backoff.count()); ++i)
      backoff *= options_.backoff_multiplier;
    // Written so that NaN, negative and infinite backoffs all land inside [0, max_backoff].
    const milliseconds cap = std::max(options_.max_backoff, milliseconds::zero());
    milliseconds computed = cap;
    if (!(backoff > 0)) {
      computed = milliseconds::zero();
    } else if (backoff < static_cast<double>(cap.count())) {
      computed = milliseconds{static_cast<milliseconds::rep>(backoff)};
    }
    return std::clamp(jitter_(computed), milliseconds::zero(), cap);
  }

  void note_retry(const http_request& request, std::size_t next_attempt,
                  const result<http_response, transport_error>& answer, std::chrono::milliseconds delay) const {
    const std::string why = answer ? "status " + std::to_string(answer->status) : std::string{to_string(answer.error().code)};
    log_event e;
    e.kind = log_event_kind::retry;
    e.level = log_level::warn;
    e.method = request.method;
    e.route = detail::route_of(request.url);
    e.attempt = next_attempt;
    e.why = why;
    e.wait = delay;
    options_.logger.write(e);
  }

  static result<http_response, transport_error> finish(result<http_response, transport_error>&& answer,
                                                       std::size_t attempts) {
    if (!answer && attempts > 1) {
      auto& message = answer.error().message;
      const std::string count = "after " + std::to_string(attempts) + " attempts";
      message = message.empty() ? count : message + " (" + count + ")";
    }
    return std::move(answer);
  }

  Transport inner_;
  retry_options options_;
  retry_clock clock_;
  jitter_function jitter_;
};

}  // namespace apikeys

#endif  // APIKEYS_TRANSPORT_RETRY_HPP
