// host:port parsing and the address a local client uses (common/host_port.h):
// pure functions. The server and client themselves open sockets and are
// tested in tests/net/http_test.cc.
#include "common/host_port.h"

#include <catch2/catch.hpp>

TEST_CASE("host:port parsing", "[unit][http]") {
    using outboxd::parse_host_port;
    CHECK(parse_host_port("127.0.0.1:9187").host == "127.0.0.1");
    CHECK(parse_host_port("127.0.0.1:9187").port == 9187);
    CHECK(parse_host_port("[::1]:0").host == "::1");
    CHECK(parse_host_port("[::1]:0").port == 0);
    CHECK(parse_host_port("localhost:65535").port == 65535);
    CHECK_THROWS_WITH(parse_host_port("::1:9187"), Catch::Contains("in brackets"));
    CHECK_THROWS_WITH(parse_host_port("127.0.0.1"), Catch::Contains("the port is missing"));
    CHECK_THROWS_WITH(parse_host_port(":9187"), Catch::Contains("the host must not be empty"));
    CHECK_THROWS_WITH(parse_host_port("127.0.0.1:65536"), Catch::Contains("from 0 to 65535"));
    CHECK_THROWS_WITH(parse_host_port("127.0.0.1:9x"), Catch::Contains("from 0 to 65535"));
    CHECK_THROWS_WITH(parse_host_port("[::1]9187"), Catch::Contains("[IPv6 address]:port"));

    using outboxd::local_address;
    CHECK(local_address("0.0.0.0:9187") == "127.0.0.1:9187");
    CHECK(local_address("[::]:9187") == "[::1]:9187");
    CHECK(local_address("10.1.2.3:80") == "10.1.2.3:80");
    CHECK(local_address("[fe80::1]:80") == "[fe80::1]:80");
}
