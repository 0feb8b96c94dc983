// apikeys tests: every buffer a `secret` releases is zero, as a replacement global allocator sees it on release.
#include <doctest/doctest.h>

#include <apikeys/apikeys.hpp>
#include <apikeys/testing/emulator.hpp>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace {

// Each block carries its size in a header, so the deallocation functions can read the whole block they
// are handed before it goes back to malloc: the released buffer, inspected while it is still ours.
constexpr std::size_t header_size = alignof(std::max_align_t);

struct watch_slot {
  std::atomic<const void*> block{nullptr};
  std::atomic<int> releases{0};
  std::atomic<bool> all_zero{false};
  std::atomic<std::size_t> size{0};
};
std::array<watch_slot, 4> watches;

void* allocate(std::size_t size) noexcept {
  void* block = std::malloc(size + header_size);
  if (block == nullptr) return nullptr;
  std::memcpy(block, &size, sizeof size);
  return static_cast<char*>(block) + header_size;
}

void release(void* p) noexcept {
  if (p == nullptr) return;
  char* block = static_cast<char*>(p) - header_size;
  std::size_t size = 0;
  std::memcpy(&size, block, sizeof size);
  for (auto& w : watches) {
    if (w.block.load() != p) continue;
    bool zero = true;
    for (std::size_t i = 0; i < size; ++i) zero = zero && static_cast<const unsigned char*>(p)[i] == 0;
    w.all_zero = zero;
    w.size = size;
    ++w.releases;
    w.block = nullptr;
  }
  std::free(block);
}

void* allocate_or_throw(std::size_t size) {
  void* p = allocate(size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

// Watches the heap block at `data` (the start of an allocation) until it is released.
watch_slot& watch(const void* data) {
  for (auto& w : watches) {
    const void* none = nullptr;
    if (w.block.compare_exchange_strong(none, data)) {
      w.releases = 0;
      w.all_zero = false;
      w.size = 0;
      return w;
    }
  }
  FAIL("no free watch slot");
  return watches[0];
}

constexpr std::string_view value = "S3cr3tKeyValueQ7mZpW2xLk9RtYbN4vHc8JdF6gUeA1sTo5iPrMnBq0wXzCyEjK";

void check_wiped(const watch_slot& w, std::size_t size) {
  CHECK(w.releases == 1);
  CHECK(w.size == size);
  CHECK(w.all_zero);
}

}  // namespace

void* operator new(std::size_t size) { return allocate_or_throw(size); }
void* operator new[](std::size_t size) { return allocate_or_throw(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t) noexcept { release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { release(p); }

TEST_CASE("control: a plain buffer released with a secret in it is seen as not wiped") {
  char* plain = new char[value.size()];
  std::memcpy(plain, value.data(), value.size());
  auto& w = watch(plain);
  delete[] plain;
  CHECK(w.releases == 1);
  CHECK(w.size == value.size());
  CHECK_FALSE(w.all_zero);
}

TEST_CASE("a secret's buffer is zero when released: destruction, clear, move and copy assignment") {
  {
    std::optional<apikeys::secret> s{std::in_place, value};
    auto& w = watch(s->reveal().data());
    s.reset();
    check_wiped(w, value.size());
  }
  {
    apikeys::secret s{value};
    auto& w = watch(s.reveal().data());
    s.clear();
    check_wiped(w, value.size());
    CHECK(s.empty());
  }
  {
    apikeys::secret s{value};
    auto& w = watch(s.reveal().data());
    s = apikeys::secret{"another"};
    check_wiped(w, value.size());
    auto& w2 = watch(s.reveal().data());
    const apikeys::secret third{"a third value"};
    s = third;  // copy assignment releases the old buffer too
    check_wiped(w2, 7);
    CHECK(s.reveal() == "a third value");
  }
  {
    // A moved-from secret owns nothing; the buffer is released, wiped, by the secret it moved to.
    apikeys::secret from{value};
    auto& w = watch(from.reveal().data());
    std::optional<apikeys::secret> to{std::in_place, std::move(from)};
    CHECK(w.releases == 0);
    to.reset();
    check_wiped(w, value.size());
  }
}

TEST_CASE("secret(std::string&&) leaves zeros in the string's own buffer") {
  std::string text{value};  // longer than any small-string buffer, so on the heap
  auto& w = watch(text.data());
  std::optional<apikeys::secret> s{std::in_place, std::move(text)};
  CHECK(s->reveal() == value);
  {
    std::string gone;
    gone.swap(text);  // the wiped buffer goes with `gone`
  }
  CHECK(w.releases == 1);
  CHECK(w.all_zero);
  s.reset();
}

TEST_CASE("a created key's value and a session's tokens are zero when the library releases them") {
  apikeys::testing::emulator emu;
  emu.add_user("wipe@example.com", "wipe-password-5");
  apikeys::app_config config;
  config.app_id = emu.app_id();
  config.base_url = emu.hostname();
  apikeys::basic_app_client<apikeys::testing::emulator&, apikeys::inline_executor, apikeys::return_result> app{emu, config};
  auto user = app.log_in(apikeys::credentials::email_password("wipe@example.com", "wipe-password-5"));
  REQUIRE(user.has_value());
  const std::shared_ptr<apikeys::session> s = *user;
  {
    auto keys = app.api_keys(s);
    std::optional<apikeys::result<apikeys::api_key>> made{std::in_place, keys.create("wiped")};
    REQUIRE(made->has_value());
    REQUIRE((*made)->value.has_value());
    const apikeys::secret& key_value = *(*made)->value;
    auto& w = watch(key_value.reveal().data());
    made.reset();
    check_wiped(w, 64);
  }
  const void* refresh = nullptr;
  const void* access = nullptr;
  std::size_t refresh_size = 0, access_size = 0;
  s->with_refresh_token([&](std::string_view t) {
    refresh = t.data();
    refresh_size = t.size();
  });
  s->with_access_token([&](std::string_view t) {
    access = t.data();
    access_size = t.size();
  });
  REQUIRE(refresh != nullptr);
  REQUIRE(access != nullptr);
  auto& wr = watch(refresh);
  auto& wa = watch(access);
  REQUIRE(app.log_out(s).has_value());
  check_wiped(wr, refresh_size);
  check_wiped(wa, access_size);
}
