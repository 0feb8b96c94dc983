// The function the two units of the abi consumer share: it takes an apikeys type.
#ifndef APIKEYS_ABI_CONSUMER_DESCRIBE_HPP
#define APIKEYS_ABI_CONSUMER_DESCRIBE_HPP

#include <string>

#include <apikeys/apikeys.hpp>

/// Decodes a canned fetch answer (in this unit's mode) into `key`; false when it does not decode.
bool decode_canned_key(apikeys::api_key& key);

#endif  // APIKEYS_ABI_CONSUMER_DESCRIBE_HPP
