// apikeys tests: after a concurrent run, the keys a user holds are exactly what the successful calls imply.
#ifndef APIKEYS_TESTS_UNIT_SUPPORT_FINAL_LIST_HPP
#define APIKEYS_TESTS_UNIT_SUPPORT_FINAL_LIST_HPP

#include <doctest/doctest.h>

#include <apikeys/apikeys.hpp>

#include <map>
#include <set>
#include <vector>

namespace apikeys_tests {

struct final_list_ids {
  std::set<apikeys::object_id> expected;  // created and not removed
  std::set<apikeys::object_id> listed;
};

// `listed` (a last fetch_all) holds each key that a create answered and no remove took away, once, and
// nothing else; `check_key(key, record)` checks what else the run knows of a listed key.
template <class Record, class CheckKey>
final_list_ids check_final_list(const std::vector<apikeys::api_key>& listed,
                                const std::map<apikeys::object_id, Record>& created,
                                const std::set<apikeys::object_id>& removed, CheckKey&& check_key) {
  final_list_ids ids;
  for (const auto& entry : created)
    if (removed.count(entry.first) == 0) ids.expected.insert(entry.first);
  for (const apikeys::api_key& k : listed) {
    CHECK_MESSAGE(ids.listed.insert(k.id).second, "fetch_all lists ", k.id, " twice");
    const auto record = created.find(k.id);
    REQUIRE_MESSAGE(record != created.end(), "fetch_all lists ", k.id, ", which no create answered");
    check_key(k, record->second);
  }
  CHECK(ids.listed == ids.expected);
  return ids;
}

}  // namespace apikeys_tests

#endif  // APIKEYS_TESTS_UNIT_SUPPORT_FINAL_LIST_HPP
