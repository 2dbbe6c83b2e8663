// The C11 <threads.h> calls librdkafka uses, as it uses them. In a TSan
// build these run through tests/tsan/c11_threads.cc (linked into every
// executable there), so a wrong result code, a lost thread result or a
// non-recursive "recursive" mutex in that shim fails here; in other builds
// they check glibc's own implementation the same way.
#include <catch2/catch.hpp>

#include <ctime>

#include <threads.h>

namespace {

int add_one(void* arg) {
    return *static_cast<int*>(arg) + 1;
}

int g_once_calls = 0;
void count_once() {
    ++g_once_calls;
}

struct Shared {
    mtx_t mu;
    cnd_t cv;
    bool ready = false;
};

int signal_ready(void* arg) {
    auto* s = static_cast<Shared*>(arg);
    mtx_lock(&s->mu);
    s->ready = true;
    cnd_signal(&s->cv);
    mtx_unlock(&s->mu);
    return 0;
}

} // namespace

TEST_CASE("C11 threads: a thread's int result reaches thrd_join", "[unit][c11]") {
    int arg = 41;
    thrd_t t;
    REQUIRE(thrd_create(&t, add_one, &arg) == thrd_success);
    int res = 0;
    REQUIRE(thrd_join(t, &res) == thrd_success);
    CHECK(res == 42);
}

TEST_CASE("C11 threads: recursive mutex, condition wait and time-out, call_once", "[unit][c11]") {
    mtx_t rec;
    REQUIRE(mtx_init(&rec, mtx_plain | mtx_recursive) == thrd_success);
    CHECK(mtx_lock(&rec) == thrd_success);
    CHECK(mtx_lock(&rec) == thrd_success); // a plain mutex would deadlock here
    CHECK(mtx_unlock(&rec) == thrd_success);
    CHECK(mtx_unlock(&rec) == thrd_success);
    mtx_destroy(&rec);

    Shared s;
    REQUIRE(mtx_init(&s.mu, mtx_plain) == thrd_success);
    REQUIRE(cnd_init(&s.cv) == thrd_success);
    // Nobody signals: the timed wait ends with thrd_timedout.
    timespec until{};
    timespec_get(&until, TIME_UTC);
    until.tv_nsec += 20 * 1000 * 1000;
    if (until.tv_nsec >= 1000 * 1000 * 1000) {
        until.tv_sec += 1;
        until.tv_nsec -= 1000 * 1000 * 1000;
    }
    mtx_lock(&s.mu);
    CHECK(cnd_timedwait(&s.cv, &s.mu, &until) == thrd_timedout);
    mtx_unlock(&s.mu);

    thrd_t t;
    REQUIRE(thrd_create(&t, signal_ready, &s) == thrd_success);
    mtx_lock(&s.mu);
    while (!s.ready) {
        CHECK(cnd_wait(&s.cv, &s.mu) == thrd_success);
    }
    mtx_unlock(&s.mu);
    CHECK(thrd_join(t, nullptr) == thrd_success);
    cnd_destroy(&s.cv);
    mtx_destroy(&s.mu);

    once_flag flag = ONCE_FLAG_INIT;
    call_once(&flag, count_once);
    call_once(&flag, count_once);
    CHECK(g_once_calls == 1);
}
