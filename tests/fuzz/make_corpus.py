#!/usr/bin/env python3
"""apikeys fuzzing: writes the seed corpus of every fuzz target from the answers the unit tests use.

    python3 tests/fuzz/make_corpus.py [--check]

Each seed is a file corpus/<target>/seed-<name>; files named otherwise (minimized findings, kept as
regression tests) are left alone. --check rewrites nothing and fails when a seed is missing or differs.
The answers come from tests/unit/decoder_test.cpp and tests/unit/client_test.cpp; secret values carry the
word SECRET, which the decoder targets check never reaches an error message.
"""

import argparse
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

ID1 = "5e5e6f0abe4ae2a2c2c2d329"
ID2 = "0123456789abcdef01234567"
ID3 = "ffffffffffffffffffffff00"
OTHER = "64b7e2a1f0c3d4e5a6b7c8d9"
SECRET64 = "SECRETvX9Lk2mN8pR4tY7wB1cD6fG0hJ5sA3eU8iO2yT6rE4wQ9zX1cV7bN5mK0lP"
HOST = "https://us-east-1.aws.services.example"
LINK = "https://services.cloud.mongodb.com/groups/64b7e2a1f0c3d4e5a6b7c8d9/apps/64b7e2a1f0c3d4e5a6b7c8da/logs?co_id=64b7"
ACCESS = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEiLCJ0eXAiOiJhY2Nlc3MifQ.SECRET-access"
REFRESH = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEiLCJ0eXAiOiJyZWZyZXNoIn0.SECRET-refresh"


def key_json(id_, name, disabled):
    return '{"_id":"%s","name":"%s","disabled":%s}' % (id_, name, "true" if disabled else "false")


def created_json(id_, name, value, disabled=False):
    return '{"_id":"%s","name":"%s","disabled":%s,"key":"%s"}' % (id_, name, "true" if disabled else "false", value)


def error_json(message, code="", link=LINK):
    if not code:
        return '{"error":"%s","link":"%s"}' % (message, link)
    return '{"error":"%s","error_code":"%s","link":"%s"}' % (message, code, link)


GOOD_ID = '"_id":"%s"' % ID1
GOOD_REST = '"name":"n","disabled":false'
GOOD_KEY = "{" + GOOD_ID + "," + GOOD_REST + "}"


def key_with(member):
    return "{" + member + "," + GOOD_REST + "}"


def id_name(disabled_member):
    return "{" + GOOD_ID + ',"name":"n"' + ("," if disabled_member else "") + disabled_member + "}"


LOCATION = ('{"deployment_model":"GLOBAL","location":"US-VA","hostname":"%s","ws_hostname":"wss://us-east-1.aws.ws.example"}'
            % HOST)
LOGIN = '{"access_token":"%s","refresh_token":"%s","user_id":"user-1","device_id":"device-9"}' % (ACCESS, REFRESH)
REFRESHED = '{"access_token":"eyJhbGciOiJIUzI1NiJ9.eyJuIjoyfQ.SECRET-new-access"}'
PROFILE = ('{"user_id":"u-1","domain_id":"d-1","identities":[{"id":"i-1","provider_type":"local-userpass",'
           '"provider_id":"p-1","provider_data":{"email":"ada@example.com"}},{"provider_id":"p-2","id":"i-2",'
           '"provider_type":"api-key"}],"data":{"email":"ada@example.com","n":[1,2]},"type":"normal"}')
MAINTENANCE = ('{"_id":"%s","name":"my-key","disabled":false,"key":"%s","access_token":"a","refresh_token":"r",'
               '"user_id":"u","device_id":"d","error":"maintenance window","error_code":"MaintenanceInProgress",'
               '"link":"%s"}' % (ID1, SECRET64, LINK))

# --- bodies per decoder ---------------------------------------------------------------------------------------

KEY_BODIES = {
    "created": created_json(ID1, "ci-key", SECRET64),
    "created-reordered-upper-id": '{"key":"SECRET-s","disabled":true,"name":"off","_id":"5E5E6F0ABE4AE2A2C2C2D329"}',
    "fetched": key_json(ID2, "fetched", True),
    "fetched-with-key": '{"_id":"%s","name":"n","disabled":false,"key":"SECRET-leak"}' % ID1,
    "unknown-fields": ('{"extra":{"a":[1,{"b":null,"c":[[],{}]}],"d":"}"},"disabled":true,"list":[[1,2],{"x":"]"}],'
                       '"n":-1.5e300,"t":true,"f":false,"z":null,"s":"with \\"quotes\\" and \\\\u escapes \\u00e9",'
                       '"name":"n-1","_id":"0123456789abcdef01234567","created":{"$date":{"$numberLong":"1700000000000"}}}'),
    "created-junk": '{"key":"SECRET-v","junk":[{"key":null}],"name":"k","_id":"%s","disabled":false}' % ID1,
    "escaped": '{"\\u005fid":"%s","n\\u0061me":"caf\\u00e9 \\"x\\" \\/ \\ud83d\\udd11","disabled":false}' % ID1,
    "old-key-extra": '{"_id":"%s","name":"old-key","disabled":true,"key":"SECRET-x","extra":[1,2]}' % ID1,
    "name-error-code": created_json(ID1, "error_code", SECRET64),
    "maintenance-2xx": MAINTENANCE,
    "id-oid": key_with('"_id":{"$oid":"%s"}' % ID1),
    "id-23": key_with('"_id":"5e5e6f0abe4ae2a2c2c2d32"'),
    "id-25": key_with('"_id":"5e5e6f0abe4ae2a2c2c2d3290"'),
    "id-not-hex": key_with('"_id":"5e5e6f0abe4ae2a2c2c2d32g"'),
    "id-empty": key_with('"_id":"","key":"SECRET-k"'),
    "id-number": key_with('"_id":12345'),
    "id-null": key_with('"_id":null'),
    "id-missing": "{" + GOOD_REST + "}",
    "name-number": "{" + GOOD_ID + ',"name":7,"disabled":false}',
    "name-null": "{" + GOOD_ID + ',"name":null,"disabled":false}',
    "name-missing": "{" + GOOD_ID + ',"disabled":false}',
    "disabled-0": id_name('"disabled":0'),
    "disabled-1": id_name('"disabled":1'),
    "disabled-string": id_name('"disabled":"false"'),
    "disabled-null": id_name('"disabled":null'),
    "disabled-fals": id_name('"disabled":fals'),
    "disabled-missing": id_name(""),
    "key-null": '{"key":null,' + GOOD_ID + "," + GOOD_REST + "}",
    "key-number": '{"key":42,' + GOOD_ID + "," + GOOD_REST + "}",
    "duplicate-id": "{" + GOOD_ID + "," + GOOD_REST + "," + GOOD_ID + "}",
    "duplicate-disabled": "{" + GOOD_ID + "," + GOOD_REST + ',"disabled":true}',
    "duplicate-key": "{" + GOOD_ID + "," + GOOD_REST + ',"key":"SECRET-a","key":"SECRET-b"}',
    "whitespace": " \r\n\t ",
    "null": "null",
    "html": "<html><body>Bad Gateway</body></html>",
    "bare-string": '"%s"' % ID1,
    "array": "[" + GOOD_KEY + "]",
    "truncated-object": "{" + GOOD_ID + ',"name":"n"',
    "truncated-string": '{"_id":"5e5e6f0ab',
    "trailing-comma": "{" + GOOD_ID + "," + GOOD_REST + ",}",
    "missing-colon": '{"_id" "%s"}' % ID1,
    "unquoted-name": '{_id:"%s"}' % ID1,
    "bad-utf8": "{" + GOOD_ID + ',"name":"caf\xc3\x28","disabled":false}',
    "bad-escape": "{" + GOOD_ID + ',"name":"a\\x41","disabled":false}',
    "lone-surrogate": "{" + GOOD_ID + ',"name":"\\ud800","disabled":false}',
    "deep-junk": "{" + GOOD_ID + "," + GOOD_REST + ',"junk":' + "[" * 200 + "}",
    "trailing-object": GOOD_KEY + "{}",
    "trailing-created": "{" + GOOD_ID + "," + GOOD_REST + ',"key":"SECRET-k"}{}',
    "trailing-garbage": GOOD_KEY + " x",
    "secret-bad-id": '{"key":"SECRET-token-value","_id":"x","name":"n","disabled":false}',
}

LIST_BODIES = {
    "empty": "[]",
    "empty-spaced": " [ ] \n",
    "three": "[" + key_json(ID3, "third-made-first", False) + "," + key_json(ID1, "b", True) + ",\n " +
             key_json(ID2, "a", False) + "]",
    "unknown-fields": '[{"zzz":{"_id":5},"name":"x","disabled":false,"_id":"%s","more":[]}]' % ID1,
    "two": "[" + key_json(OTHER, "b-second", True) + "," + key_json(ID1, "a-first", False) + "]",
    "name-error-code": "[" + key_json(ID1, "error_code", False) + "]",
    "with-key": '[{"_id":"%s","name":"n","disabled":false,"key":"SECRET-in-a-list"}]' % ID1,
    "disabled-number": '[{"_id":"%s","name":"x","disabled":1}]' % ID1,
    "truncated": "[" + GOOD_KEY + ",",
    "bad-utf8-unknown": "[{" + GOOD_ID + "," + GOOD_REST + ',"x":"\xff"}]',
    "unclosed": "[" * 200,
    "string": '"[]"',
    "object": GOOD_KEY,
    "null": "null",
    "number-element": "[1]",
    "null-element": "[" + GOOD_KEY + ",null]",
    "bad-id-deep": "[" + GOOD_KEY + "," + GOOD_KEY + ',{"_id":"nope","name":"n","disabled":false}]',
    "missing-field": "[" + GOOD_KEY + ',{"_id":"%s","name":"n"}]' % ID1,
    "disabled-deep": "[" + GOOD_KEY + "," + GOOD_KEY + "," + GOOD_KEY + "," + id_name('"disabled":1') + "]",
    "trailing": "[]{}",
    "error-only": '[{"error_code":"AuthError"}]',
}

LOGIN_BODIES = {
    "login": LOGIN,
    "login-extra": '{"device_id":"dev-1","user_id":"owner-1","refresh_token":"SECRET.r.r","access_token":"SECRET.a.a","extra":[1]}',
    "refresh": REFRESHED,
    "refresh-plain": '{"access_token":"SECRET.new.access.token"}',
    "no-refresh-token": '{"access_token":"a","user_id":"u","device_id":"d"}',
    "user-id-number": '{"access_token":"a","refresh_token":"r","user_id":17,"device_id":"d"}',
    "no-device-id": '{"access_token":"SECRET-a","refresh_token":"SECRET-r","user_id":"u"}',
    "null-access": '{"access_token":null,"refresh_token":"r","user_id":"u","device_id":"d"}',
    "duplicate-access": '{"access_token":"SECRET-a","refresh_token":"r","user_id":"u","device_id":"d","access_token":"SECRET-b"}',
    "array": '["access_token"]',
    "refresh-missing": '{"refresh_token":"r"}',
    "refresh-number": '{"access_token":1}',
    "refresh-trailing": '{"access_token":"SECRET-a"}{}',
    "secret-then-bad": '{"access_token":"SECRET-token-value","refresh_token":7}',
    "escaped": '{"access_token":"SECRET\\u0041","refresh_token":"r\\n","user_id":"\\u00e9","device_id":"d\\"q"}',
    "maintenance-2xx": MAINTENANCE,
    "empty-tokens": '{"access_token":"","refresh_token":"","user_id":"","device_id":""}',
}

LOCATION_BODIES = {
    "https": LOCATION,
    "https-slash": ('{"deployment_model":"GLOBAL","location":"US-VA","hostname":"https://us-east-1.aws.realm.mongodb.com/",'
                    '"ws_hostname":"wss://ws.us-east-1.aws.realm.mongodb.com"}'),
    "http": '{"hostname":"http://127.0.0.1:8089","ws_hostname":"ws://127.0.0.1:8089"}',
    "slashes": '{"ws_hostname":"ws://h","hostname":"http://127.0.0.1:1///"}',
    "scheme-slashes": '{"hostname":"https:///","ws_hostname":"wss://x"}',
    "scheme-4-slashes": '{"hostname":"http:////","ws_hostname":"wss://x"}',
    "no-hostname": '{"ws_hostname":"wss://x"}',
    "no-ws-hostname": '{"hostname":"https://x"}',
    "ftp": '{"hostname":"ftp://x.example.com","ws_hostname":"wss://x"}',
    "no-scheme": '{"hostname":"x.example.com","ws_hostname":"wss://x"}',
    "only-scheme": '{"hostname":"https://","ws_hostname":"wss://x"}',
    "space": '{"hostname":"https://a b","ws_hostname":"wss://x"}',
    "number": '{"hostname":80,"ws_hostname":"wss://x"}',
    "x-y": '{"hostname":"x","ws_hostname":"y"}',
    "truncated": '{"hostname":"https://x.example",',
    "escaped": '{"hostname":"https:\\/\\/h\\u002eexample","ws_hostname":"wss:\\/\\/h"}',
    # Issue #13: a hostname with a gateway's path prefix is kept, without its trailing '/'.
    "prefix": ('{"deployment_model":"GLOBAL","location":"US-VA","hostname":"https://gateway.example.com/realm",'
               '"ws_hostname":"wss://gateway.example.com/realm"}'),
    "prefix-slash": '{"hostname":"https://gateway.example.com/realm/","ws_hostname":"wss://gateway.example.com/realm/"}',
    "prefix-escapes": '{"hostname":"http://127.0.0.1:8089/gw%20x/~a;b=c/x@y/","ws_hostname":"ws://127.0.0.1:8089/gw%20x"}',
    "prefix-user-info": '{"hostname":"https://u:p@gateway.example.com/realm","ws_hostname":"wss://x"}',
    "prefix-query": '{"hostname":"https://gateway.example.com/realm?x=1","ws_hostname":"wss://x"}',
    "prefix-fragment": '{"hostname":"https://gateway.example.com/realm#top","ws_hostname":"wss://x"}',
    "prefix-no-host": '{"hostname":"https:///realm","ws_hostname":"wss://x"}',
    "prefix-tab": '{"hostname":"https://gateway.example.com/re\\talm","ws_hostname":"wss://x"}',
    "profile": PROFILE,
    "profile-minimal": '{"data":{},"identities":[]}',
    "profile-client": ('{"user_id":"user-1","domain_id":"d","identities":[{"id":"i1","provider_type":"local-userpass",'
                       '"provider_id":"p1"}],"data":{"email":"ada@example.com"},"type":"normal"}'),
    "profile-no-identities": '{"user_id":"u","data":{},"type":"normal"}',
    "profile-no-data": '{"identities":[]}',
    "profile-identities-object": '{"identities":{},"data":{}}',
    "profile-data-string": '{"identities":[],"data":"x"}',
    "profile-identity-string": '{"identities":["i"],"data":{}}',
    "profile-identity-id-number": '{"identities":[{"id":"a"},{"id":2}],"data":{}}',
    "profile-data-spaced": '{"identities":[{}],"data":  { "a" : [ 1 , { } ] }  }',
    "profile-duplicate-data": '{"identities":[],"data":{},"data":{}}',
}

# classify_response: (status, Content-Type selector, body). The selector's low bits index the table in
# fuzz_support.hpp (1 = application/json, 7 = text/plain, 8 = text/html, 0 = none); 15 takes a custom one.
OTHER_STATUSES = [0, -1, 100, 101, 199, 300, 301, 302, 304, 399, 400, 401, 403, 404, 405, 409, 418, 429, 500, 502, 503,
                  504, 599, 600, 999, 1, 199, 300, 2147483647, -2147483648]


def status_byte(status):
    if 200 <= status <= 299:
        return status - 200
    return 100 + OTHER_STATUSES.index(status)


def error_seed(status, selector, body, custom=None):
    out = bytes([status_byte(status), selector])
    if selector & 0x0F == 15:
        out += bytes([len(custom)]) + custom.encode()
    return out + body.encode("latin-1")


ERROR_BODY = '{"error":"API key not found","error_code":"APIKeyNotFound"}'
ERROR_SEEDS = {
    "invalid-session-200": error_seed(200, 1, '{"error":"invalid session","error_code":"InvalidSession","link":"https://logs.example/1"}'),
    "invalid-session-401": error_seed(401, 1, '{"error":"invalid session","error_code":"InvalidSession","link":"https://logs.example/1"}'),
    "missing-auth-req": error_seed(401, 1, '{"error_code":"MissingAuthReq"}'),
    "unknown-code": error_seed(418, 1, '{"error_code":"SomethingNew","error":"teapot"}'),
    "escaped-code": error_seed(404, 1, '{"error_code":"APIKey\\u004eotFound"}'),
    "repeated": error_seed(400, 1, '{"error_code":"AuthError","error":"first","link":"l1","error_code":"InvalidSession","error":"second","link":"l2"}'),
    "only-error": error_seed(400, 1, '{"error":"\'name\' is a required string","link":"https://logs.example/2"}'),
    "empty-code": error_seed(400, 1, '{"error_code":"","error":"bad"}'),
    "empty-code-200": error_seed(200, 1, '{"error_code":""}'),
    "empty-code-404": error_seed(404, 1, '{"error_code":""}'),
    "charset": error_seed(200, 2, ERROR_BODY),
    "charset-spaced": error_seed(200, 3, ERROR_BODY),
    "upper-type": error_seed(200, 4, ERROR_BODY),
    "lower-name": error_seed(404, 0x11 | 0x40, ERROR_BODY),
    "upper-name": error_seed(404, 0x21, ERROR_BODY),
    "second-type": error_seed(404, 0x81, ERROR_BODY),
    "text-plain-200": error_seed(200, 7, ERROR_BODY),
    "text-plain-404": error_seed(404, 7, ERROR_BODY),
    "jsonp": error_seed(404, 9, ERROR_BODY),
    "problem-json": error_seed(404, 10, ERROR_BODY),
    "html-then-json": error_seed(404, 11, ERROR_BODY),
    "no-type": error_seed(404, 0, ERROR_BODY),
    "custom-type": error_seed(404, 15, ERROR_BODY, custom="application/json ;q=0.9"),
    "bad-gateway": error_seed(502, 8, "<html>Bad Gateway</html>"),
    "empty-503": error_seed(503, 0, ""),
    "long-text": error_seed(500, 7, "x" * 1100),
    "broken-401": error_seed(401, 1, '{"error":"x","error_code":"InvalidSession"'),
    "broken-200": error_seed(200, 1, '{"error":"x","error_code":"InvalidSession"'),
    "array": error_seed(400, 1, '["error","error_code"]'),
    "code-number": error_seed(400, 1, '{"error_code":7,"error":"x"}'),
    "error-null": error_seed(201, 1, '{"error_code":"AuthError","error":null}'),
    "string": error_seed(400, 1, '"error"'),
    "trailing": error_seed(400, 1, '{"error_code":"AuthError"}{"error":"trailing"}'),
    "status-0": error_seed(0, 0, ""),
    "status-101": error_seed(101, 0, ""),
    "status-302": error_seed(302, 1, key_json(ID1, "moved", False)),
    "status-299": error_seed(299, 1, key_json(ID1, "odd", False)),
    "status-max": error_seed(2147483647, 0, ""),
    "status-min": error_seed(-2147483648, 1, '{"error":"x"}'),
    "204-empty": error_seed(204, 0, ""),
    "name-error": error_seed(200, 1, '{"_id":"%s","name":"error","disabled":false}' % ID1),
    "nested-error": error_seed(200, 1, '{"nested":{"error_code":"AuthError","error":"x"}}'),
    "list-error": error_seed(200, 1, '[{"error_code":"AuthError"}]'),
    "maintenance-2xx": error_seed(201, 1, MAINTENANCE),
    "half-object-500": error_seed(500, 1, '{"error":"half an object"'),
    "brand-new-200": error_seed(200, 1, '{"error":"something new","error_code":"BrandNewThing"}'),
    "escaped-name": error_seed(400, 1, '{"\\u0065rror_code":"AuthError","\\u0065rror":"escaped"}'),
}
for code, status, message in [
        ("APIKeyNotFound", 404, "API key not found"),
        ("InvalidParameter", 400, "can only contain ASCII letters, numbers, underscores, and hyphens"),
        ("APIKeyAlreadyExists", 409, "API key with name already exists"),
        ("AuthError", 403, "anonymous users cannot use API keys"),
        ("BadRequest", 400, "invalid request body"),
        ("InternalServerError", 500, "boom"),
        ("UserDisabled", 401, "user disabled"),
        ("MaintenanceInProgress", 503, "maintenance"),
        ("AuthProviderNotFound", 404, "provider not found"),
        ("MissingParameter", 400, "missing"),
        ("", 401, "expected Authorization header with JWT (Bearer schema)")]:
    ERROR_SEEDS["row-%s-%d" % (code or "none", status)] = error_seed(status, 1, error_json(message, code))

# --- fuzz_client scripts ------------------------------------------------------------------------------------
# The byte layout is fuzz_client.cpp's: [mode], then operations and, as each request is sent, its answer.

OPS = {"location": 0, "log_in": 1, "register": 2, "create": 3, "fetch": 4, "fetch_all": 5, "enable": 6,
       "disable": 7, "remove": 8, "refresh": 9, "log_out": 10, "profile": 11, "new_session": 12}
CANNED = {"location": 0, "login": 1, "created": 2, "key": 3, "list": 4, "empty_list": 5, "refreshed": 6,
          "profile": 7, "no_content": 8, "invalid_session": 9, "not_found": 10, "bad_gateway": 11,
          "local_location": 12, "auth_error": 13, "only_error": 14, "maintenance": 15}
FAILURES = {"transport_error": 0, "connection_failed": 1, "timeout": 2, "tls_error": 3, "connection_reset": 4,
            "too_many_redirects": 5, "api_key_not_found": 6, "bad_response": 7, "invalid_argument": 8}


class script:
    def __init__(self, mode=0):
        self.out = bytearray([mode])

    def op(self, op_name, throwing=False, **args):
        name = op_name
        self.out.append(OPS[name] | (0x80 if throwing else 0))
        if name == "log_in":
            which = args.get("which", 0)
            self.out.append(which)
            if which == 0:
                self.string(args.get("email", "ada@example.com"))
            self.out.append(1 if args.get("adopt", True) else 0)
        elif name == "register":
            self.string(args.get("email", "bob@example.com"))
        elif name == "create":
            name_ = args.get("name", "my-key")
            if name_ == "my-key":
                self.out.append(1)
            else:
                self.out.append(0)
                self.string(name_)
        elif name in ("fetch", "enable", "disable", "remove"):
            self.out.append(args.get("id", 0))
        return self

    def string(self, text):
        data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
        self.out.append(len(data))
        self.out += data

    def respond(self, status, body="", selector=None, extra=0):
        self.out.append(3 | extra)
        self.out.append(status_byte(status))
        if selector is None:
            selector = 1 if body else 0
        self.out.append(selector)
        data = body.encode("latin-1")
        self.out += struct.pack("<H", len(data)) + data
        return self

    def canned(self, name, extra=0):
        self.out += bytes([2 | extra, CANNED[name]])
        return self

    def fail(self, code, message="", extra=0):
        self.out += bytes([0 | extra, FAILURES[code]])
        self.string(message)
        return self

    def throw(self, message="boom", std=True, extra=0):
        self.out.append(1 | (0 if std else 0x08) | extra)
        self.string(message)
        return self

    def bytes(self):
        return bytes(self.out)


def client_scripts():
    s = {}
    for mode in range(3):
        story = (script(mode)
                 .op("location").respond(200, LOCATION)
                 .op("log_in").respond(200, LOGIN)
                 .op("create").respond(201, created_json(ID1, "my-key", SECRET64))
                 .op("fetch", id=3).respond(200, key_json(ID1, "my-key", False))
                 .op("fetch_all").respond(200, "[" + key_json(ID1, "my-key", False) + "," + key_json(OTHER, "b", True) + "]")
                 .op("disable", id=3).respond(204)
                 .op("enable", id=3).respond(204)
                 .op("remove", id=3).respond(204)
                 .op("fetch", id=3).respond(404, error_json("API key not found", "APIKeyNotFound"))
                 .op("remove", id=3).respond(404, error_json("API key not found", "APIKeyNotFound"))
                 .op("refresh").respond(201, REFRESHED)
                 .op("profile").respond(200, PROFILE)
                 .op("log_out").respond(204)
                 .op("create")
                 .op("log_out"))
        s["story-mode%d" % mode] = story.bytes()
        canned = (script(mode).op("log_in", which=1).canned("location").canned("login")
                  .op("create").canned("created").op("fetch_all").canned("list").op("fetch").canned("key")
                  .op("refresh").canned("refreshed").op("profile").canned("profile").op("log_out").canned("no_content"))
        s["canned-mode%d" % mode] = canned.bytes()
        s["throwing-mode%d" % mode] = (script(mode)
                                       .op("fetch_all", throwing=True).canned("empty_list")
                                       .op("enable", throwing=True).canned("not_found")
                                       .op("log_in", throwing=True, which=2).canned("location").canned("auth_error")
                                       .op("location", throwing=True)
                                       .op("fetch", throwing=True).canned("invalid_session")
                                       .op("create", throwing=True)).bytes()
    # section 5, row by row, on the operations each row names
    rows = [(404, "APIKeyNotFound", "API key not found", ["enable", "disable"]),
            (400, "InvalidParameter", "can only contain ASCII letters, numbers, underscores, and hyphens", ["create"]),
            (400, "", "'name' is a required string", ["create"]),
            (409, "APIKeyAlreadyExists", "API key with name already exists", ["create"]),
            (400, "InvalidParameter", "user may only have 20 API keys", ["create"]),
            (403, "AuthError", "anonymous users cannot use API keys", ["create", "fetch", "fetch_all", "enable", "disable", "remove"]),
            (403, "AuthError", "cannot delete the API key in use", ["remove"]),
            (401, "MissingAuthReq", "must authenticate first", ["fetch_all", "create"]),
            (401, "", "expected Authorization header with JWT (Bearer schema)", ["enable", "create"]),
            (401, "InvalidSession", "invalid session", ["refresh", "fetch"]),
            (400, "BadRequest", "invalid request body", ["create"])]
    for i, (status, code, message, ops) in enumerate(rows):
        sc = script(0)
        for op in ops:
            sc.op(op).respond(status, error_json(message, code)).op("new_session")
        s["row%02d-%s" % (i, code or "none")] = sc.bytes()
    s["row-login-auth-error"] = script(0).op("log_in", which=1).respond(200, LOCATION).respond(401, error_json("unauthorized", "AuthError")).bytes()
    s["maintenance-2xx"] = (script(0).op("create").respond(201, MAINTENANCE).op("fetch").respond(200, MAINTENANCE)
                            .op("enable").respond(204, MAINTENANCE).op("log_in").respond(200, LOCATION).respond(200, MAINTENANCE)).bytes()
    s["unknown-code"] = (script(0).op("fetch_all").respond(200, '{"error":"something new","error_code":"BrandNewThing"}')
                         .op("enable").respond(500, '{"error":"it broke"}')).bytes()
    s["charset-409"] = script(0).op("create").respond(409, error_json("API key with name already exists", "APIKeyAlreadyExists"), selector=0x12).bytes()
    s["transport-failures"] = (script(0).op("fetch_all").fail("timeout").op("fetch").fail("api_key_not_found", "confused adapter")
                               .op("remove").fail("connection_failed", "refused").op("location").fail("connection_failed", "no route")
                               .op("log_out").fail("tls_error", "certificate")).bytes()
    s["transport-throws"] = (script(0).op("fetch_all").throw("socket closed").op("enable").throw("odd", std=False)
                             .op("log_in").throw("dns")).bytes()
    s["async-misbehaving"] = (script(2).op("fetch_all").canned("list", extra=0x10).op("create").canned("created", extra=0x20)
                              .op("enable").throw("early").op("remove").throw("late", extra=0x20)
                              .op("log_in", which=3).canned("location", extra=0x30).canned("login", extra=0x10)).bytes()
    s["blocking-misbehaving"] = (script(1).op("fetch_all").canned("list", extra=0x10).op("create").canned("created", extra=0x20)
                                 .op("enable").throw("early", std=False).op("profile").canned("invalid_session", extra=0x30)
                                 .canned("refreshed").canned("profile")).bytes()
    s["http-errors"] = (script(0).op("enable").respond(502, "<html><body><h1>502 Bad Gateway</h1></body></html>", selector=8)
                        .op("enable").respond(500, '{"error":"half an object"')
                        .op("fetch").respond(299, key_json(ID1, "odd", False)).op("enable").respond(299)
                        .op("remove").respond(200).op("enable").respond(199).op("enable").respond(302)
                        .op("enable").respond(100).op("enable").respond(304).op("enable").respond(418)
                        .op("fetch").respond(302, key_json(ID1, "moved", False))).bytes()
    s["malformed-2xx"] = (script(0).op("create").respond(201, '{"_id":"%s","name":"my-key","disabled":false}' % ID1)
                          .op("fetch").respond(200, '{"_id":{"$oid":"%s"},"name":"x","disabled":false}' % ID1)
                          .op("fetch_all").respond(200, '[{"_id":"%s","name":"x","disabled":1}]' % ID1)
                          .op("refresh").respond(201, '{"access_token":1}')
                          .op("profile").respond(200, '{"identities":{},"data":{}}')).bytes()
    s["profile-refresh-retry"] = (script(0).op("profile").respond(401, error_json("invalid session", "InvalidSession"))
                                  .respond(201, REFRESHED).respond(200, PROFILE)).bytes()
    s["profile-refresh-twice"] = (script(0).op("profile").respond(401, error_json("invalid session", "InvalidSession"))
                                  .respond(201, REFRESHED).respond(401, error_json("still not", "InvalidSession"))).bytes()
    s["profile-refresh-refused"] = (script(0).op("profile").respond(401, error_json("invalid session", "InvalidSession"))
                                    .respond(401, error_json("refresh token revoked", "InvalidSession"))
                                    .op("profile").op("fetch_all").op("refresh")).bytes()
    s["401-ends-session"] = (script(0).op("fetch_all").respond(401, error_json("invalid session", "InvalidSession"))
                             .op("create").op("enable").op("log_out").op("new_session").op("fetch_all").canned("empty_list")).bytes()
    s["location-errors"] = (script(0).op("location").fail("connection_failed", "no route")
                            .op("location").respond(500, error_json("boom", "InternalServerError"))
                            .op("location").respond(500)
                            .op("location").respond(200, '{"hostname":"https://x.example",')
                            .op("location").respond(200, '{"ws_hostname":"wss://x.example"}')
                            .op("location").respond(200, '{"hostname":"https://x.example"}')
                            .op("location").respond(200, '{"hostname":"x","ws_hostname":"y"}')
                            .op("location").respond(200, '{"hostname":"http://127.0.0.1:9090/","ws_hostname":"ws://127.0.0.1:9090/"}')
                            .op("location")).bytes()
    s["logins"] = (script(0).op("log_in", which=1).respond(200, LOCATION).respond(200, '{"access_token":"a.b.c","refresh_token":"d.e.f","user_id":"u"}')
                   .op("log_in", which=2).respond(200, LOGIN).op("log_in", which=3, adopt=True).respond(200, LOGIN)
                   .op("fetch_all").respond(200, "[]")
                   .op("log_in", which=0, email="caf\u00e9@example.com").respond(401, error_json("invalid username/password", "AuthError"))
                   .op("log_in", which=0, email=b"\xff\xfe").op("log_in", which=0, email='a"b\\c\n@x')
                   .respond(200, LOGIN)).bytes()
    s["register"] = (script(0).op("register").respond(200, LOCATION).respond(201)
                     .op("register", email="taken@example.com").respond(409, error_json("name already in use", "AccountNameInUse"))
                     .op("register", email=b"\xc3\x28").op("register", email="").respond(400, error_json("email invalid", "BadRequest"))).bytes()
    s["bad-names"] = (script(0).op("create", name="").op("create", name="has space").op("create", name="caf\u00e9")
                      .op("create", name=b"\xff").op("create", name="ok_name-1").respond(201, created_json(ID1, "ok_name-1", SECRET64))).bytes()
    s["adopted-session"] = (script(0).op("log_in", which=0).canned("local_location").canned("login")
                            .op("create").canned("created").op("fetch", id=3).canned("key").op("refresh").canned("invalid_session")
                            .op("fetch_all")).bytes()
    return s


# --- writing -------------------------------------------------------------------------------------------------

def seeds():
    out = {}
    for name, body in KEY_BODIES.items():
        out[("fuzz_key", name)] = body.encode("latin-1")
    for name, body in LIST_BODIES.items():
        out[("fuzz_key_list", name)] = body.encode("latin-1")
    for name, body in LOGIN_BODIES.items():
        out[("fuzz_login", name)] = body.encode("latin-1")
    for name, body in LOCATION_BODIES.items():
        out[("fuzz_location", name)] = body.encode("latin-1")
    for name, data in ERROR_SEEDS.items():
        out[("fuzz_error_body", name)] = data
    for name, data in client_scripts().items():
        out[("fuzz_client", name)] = data
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when a seed file is missing or differs")
    args = parser.parse_args()
    stale = 0
    for (target, name), data in sorted(seeds().items()):
        path = os.path.join(HERE, "corpus", target, "seed-" + name)
        current = None
        if os.path.exists(path):
            with open(path, "rb") as f:
                current = f.read()
        if current == data:
            continue
        if args.check:
            print("stale seed: %s" % os.path.relpath(path, HERE))
            stale += 1
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
