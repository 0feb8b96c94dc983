// apikeys::testing::fault_injecting_transport: wraps a Transport and loses, cuts, repeats, delays or swaps answers on a seeded schedule.
#ifndef APIKEYS_TESTING_FAULT_INJECTION_HPP
#define APIKEYS_TESTING_FAULT_INJECTION_HPP

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>

#include "../detail/format.hpp"
#include "../error.hpp"
#include "../http.hpp"
#include "../result.hpp"
#include "../secret.hpp"
#include "../transport.hpp"
#include "../version.hpp"

namespace APIKEYS_NAMESPACE::testing {

/// What fault_injecting_transport may do to one exchange.
enum class fault_kind : std::size_t {
  none,       ///< passed through untouched
  refuse,     ///< refused before sending (errc::connection_failed); the inner transport is never called
  drop,       ///< handled by the server, then the answer is lost (errc::timeout)
  reset,      ///< handled by the server, then the connection resets (errc::connection_reset)
  truncate,   ///< handled by the server; the answer's body is cut short and handed on as it is
  delay,      ///< handled by the server; the answer comes late (a bounded sleep)
  duplicate,  ///< the server gets the request twice; the caller sees the first answer
  reorder,    ///< handled by the server; the caller gets the stashed answer of an earlier identical request
};
inline constexpr std::size_t fault_kind_count = 8;

constexpr std::string_view to_string(fault_kind k) noexcept {
  switch (k) {
    case fault_kind::none: return "none";
    case fault_kind::refuse: return "refuse";
    case fault_kind::drop: return "drop";
    case fault_kind::reset: return "reset";
    case fault_kind::truncate: return "truncate";
    case fault_kind::delay: return "delay";
    case fault_kind::duplicate: return "duplicate";
    case fault_kind::reorder: return "reorder";
  }
  return "?";
}
namespace detail {
inline std::string describe(const fault_kind& k) { return std::string{to_string(k)}; }
}  // namespace detail

inline std::ostream& operator<<(std::ostream& os, fault_kind k) { return os << to_string(k); }

/// The schedule: each request draws at most one fault, with these probabilities (their sum at most 1;
/// what is left over is `none`). The same seed and the same sequence of requests give the same faults.
struct fault_options {
  std::uint64_t seed = 0;
  double refuse = 0.0;
  double drop = 0.0;
  double reset = 0.0;
  double truncate = 0.0;
  double delay = 0.0;
  double duplicate = 0.0;
  double reorder = 0.0;
  std::chrono::microseconds max_delay{500};  ///< a delay sleeps between 0 and this
  /// Whether reorder may swap the answers of POST, PUT and DELETE too, not only of GET. Off by default: a
  /// stale answer to a write is a lie no client can always see through (a create answered with the
  /// 201 of an earlier create of a name since deleted is byte-for-byte plausible), while a stale GET
  /// answer is what a misbehaving cache really serves.
  bool reorder_writes = false;
};

/// How many requests came in and how many faults were applied, by kind (`none` counts the untouched).
struct fault_counts {
  std::size_t requests = 0;
  std::array<std::size_t, fault_kind_count> by_kind{};

  std::size_t operator[](fault_kind k) const noexcept { return by_kind[static_cast<std::size_t>(k)]; }
  /// Faults applied, of every kind but `none`.
  std::size_t injected() const noexcept { return requests - (*this)[fault_kind::none]; }
};

/// A Transport that forwards to `Inner` (a type with `send`, possibly a reference such as `emulator&`)
/// and damages exchanges on a seeded random schedule, to test how a client copes with an unreliable
/// network. Every answer-side fault happens after the inner transport handled the request, so the
/// server's state has changed although the caller may not learn how; only `refuse` fails before anything
/// is sent. The choices it makes:
/// - truncate cuts the body at a random point (short of its end) and hands the response on with its
///   status and headers, as a close-delimited body cut short looks; a transport that knows the length
///   reports errc::connection_reset instead, which `reset` covers. An empty body is left alone (and not
///   counted).
/// - duplicate sends the request to the inner transport twice, as a proxy that retries or a replayed
///   packet would, and returns the answer to the first delivery; the second answer is discarded.
/// - reorder keeps one stashed answer per method and URL: the first time the draw falls on a request
///   it stashes a copy of the answer (and passes it on, uncounted); afterwards it hands the caller the
///   stashed answer and stashes the fresh one. Only GETs unless fault_options::reorder_writes.
/// - the inner transport's own failures and exceptions pass through unchanged.
/// Stashed answers are wiped when replaced or when the transport is destroyed: they may hold key values.
/// Thread safety: send() may be called concurrently when Inner::send may; the schedule, counters and
/// stash are guarded by one mutex, held only while drawing, never while the inner transport works.
template <class Inner>
class fault_injecting_transport {
  static_assert(transport<std::remove_reference_t<Inner>>,
                "apikeys: fault_injecting_transport needs an inner Transport with send()");

 public:
  using send_result = result<http_response, transport_error>;

  explicit fault_injecting_transport(Inner inner, fault_options options = {})
      : inner_(std::forward<Inner>(inner)), options_(options), random_(options.seed) {}
  fault_injecting_transport(const fault_injecting_transport&) = delete;
  fault_injecting_transport& operator=(const fault_injecting_transport&) = delete;
  ~fault_injecting_transport() {
    for (auto& [where, answer] : stash_) wipe(answer);
  }

  send_result send(const http_request& request) {
    const fault_kind drawn = draw();
    if (drawn == fault_kind::refuse) {
      record(fault_kind::refuse);
      return unexpected{transport_error{errc::connection_failed, "fault injection: connection refused"}};
    }
    send_result answer = forward(request);
    if (drawn == fault_kind::duplicate) {
      send_result second = forward(request);
      if (second) wipe(*second);
      record(fault_kind::duplicate);
      return answer;
    }
    if (!answer) {
      record(fault_kind::none);
      return answer;
    }
    switch (drawn) {
      case fault_kind::drop:
        wipe(*answer);
        record(fault_kind::drop);
        return unexpected{transport_error{errc::timeout, "fault injection: the answer was lost"}};
      case fault_kind::reset:
        wipe(*answer);
        record(fault_kind::reset);
        return unexpected{transport_error{errc::connection_reset, "fault injection: connection reset before the answer"}};
      case fault_kind::truncate: {
        std::string& body = answer->body;
        if (body.empty()) break;
        const std::size_t cut = pick(body.size() - 1);
        secure_wipe_tail(body, cut);
        record(fault_kind::truncate);
        return answer;
      }
      case fault_kind::delay: {
        const auto nap = std::chrono::microseconds{static_cast<std::chrono::microseconds::rep>(
            pick(static_cast<std::size_t>(options_.max_delay.count() < 0 ? 0 : options_.max_delay.count())))};
        std::this_thread::sleep_for(nap);
        record(fault_kind::delay);
        return answer;
      }
      case fault_kind::reorder:
        if (request.method != http_method::get && !options_.reorder_writes) break;
        if (swap_with_stash(request, *answer)) {
          record(fault_kind::reorder);
          return answer;
        }
        break;
      default: break;
    }
    record(fault_kind::none);
    return answer;
  }

  /// Requests seen and faults applied so far.
  fault_counts counts() const {
    const std::lock_guard lock(mutex_);
    return counts_;
  }
  const fault_options& options() const noexcept { return options_; }
  std::remove_reference_t<Inner>& inner() noexcept { return inner_; }

 private:
  send_result forward(const http_request& request) {
    if constexpr (std::is_same_v<std::remove_cvref_t<decltype(inner_.send(request))>, http_response>) {
      return send_result{inner_.send(request)};
    } else {
      return inner_.send(request);
    }
  }

  // One uniform draw per request walks the cumulative probabilities, so the schedule depends only on
  // the seed and the number of requests, never on what the server answered.
  fault_kind draw() {
    const std::lock_guard lock(mutex_);
    ++counts_.requests;
    const double u = std::uniform_real_distribution<double>{0.0, 1.0}(random_);
    const std::pair<double, fault_kind> table[] = {
        {options_.refuse, fault_kind::refuse},     {options_.drop, fault_kind::drop},
        {options_.reset, fault_kind::reset},       {options_.truncate, fault_kind::truncate},
        {options_.delay, fault_kind::delay},       {options_.duplicate, fault_kind::duplicate},
        {options_.reorder, fault_kind::reorder},
    };
    double edge = 0.0;
    for (const auto& [p, kind] : table) {
      edge += p;
      if (u < edge) return kind;
    }
    return fault_kind::none;
  }

  // A number in [0, most], from the same seeded stream.
  std::size_t pick(std::size_t most) {
    const std::lock_guard lock(mutex_);
    return std::uniform_int_distribution<std::size_t>{0, most}(random_);
  }

  void record(fault_kind k) {
    const std::lock_guard lock(mutex_);
    ++counts_.by_kind[static_cast<std::size_t>(k)];
  }

  bool swap_with_stash(const http_request& request, http_response& answer) {
    std::string where{to_string(request.method)};
    where.append(" ").append(request.url);
    const std::lock_guard lock(mutex_);
    auto found = stash_.find(where);
    if (found == stash_.end()) {
      stash_.emplace(std::move(where), answer);
      return false;
    }
    std::swap(found->second, answer);
    return true;
  }

  static void secure_wipe_tail(std::string& text, std::size_t keep) noexcept {
    ::apikeys::detail::secure_wipe(text.data() + keep, text.size() - keep);
    text.resize(keep);
  }
  static void wipe(http_response& response) noexcept {
    ::apikeys::detail::secure_wipe(response.body.data(), response.body.size());
  }

  Inner inner_;
  const fault_options options_;
  mutable std::mutex mutex_;
  std::mt19937_64 random_;
  fault_counts counts_;
  std::map<std::string, http_response, std::less<>> stash_;
};

}  // namespace apikeys::testing

template <>
struct fmt::formatter<apikeys::testing::fault_kind>
    : apikeys::detail::described_formatter<apikeys::testing::fault_kind, &apikeys::testing::detail::describe> {};

#endif  // APIKEYS_TESTING_FAULT_INJECTION_HPP
