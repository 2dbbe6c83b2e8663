// ThreadSanitizer builds only (OUTBOXD_TSAN): C11 <threads.h> on top of the
// POSIX calls ThreadSanitizer intercepts.
//
// Debian's librdkafka starts its threads with C11 thrd_create and locks with
// mtx_lock/cnd_wait. glibc implements those by calling its internal pthread
// functions directly, past ThreadSanitizer's interceptors: the first thread
// librdkafka starts is unknown to the runtime and crashes it, and its locks
// are invisible. Linked into every executable of a TSan build, these
// definitions take precedence over glibc's for librdkafka's references (the
// executable is searched first), so its threads and locks go through
// pthread_create, pthread_mutex_lock and pthread_cond_wait like ours. glibc
// defines mtx_t, cnd_t, thrd_t and once_flag as the pthread types, so the
// casts below are the ones glibc itself makes.
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <new>

#include <pthread.h>
#include <threads.h>

namespace {

struct Start {
    thrd_start_t func;
    void* arg;
};

void* trampoline(void* p) {
    const Start start = *static_cast<Start*>(p);
    delete static_cast<Start*>(p);
    return reinterpret_cast<void*>(static_cast<std::intptr_t>(start.func(start.arg)));
}

int result(int err) {
    switch (err) {
    case 0:
        return thrd_success;
    case EBUSY:
        return thrd_busy;
    case ETIMEDOUT:
        return thrd_timedout;
    case ENOMEM:
        return thrd_nomem;
    default:
        return thrd_error;
    }
}

pthread_mutex_t* as_mutex(mtx_t* m) {
    return reinterpret_cast<pthread_mutex_t*>(m);
}

pthread_cond_t* as_cond(cnd_t* c) {
    return reinterpret_cast<pthread_cond_t*>(c);
}

} // namespace

extern "C" {

int thrd_create(thrd_t* thr, thrd_start_t func, void* arg) {
    auto* start = new (std::nothrow) Start{func, arg};
    if (start == nullptr) {
        return thrd_nomem;
    }
    const int err = pthread_create(thr, nullptr, trampoline, start);
    if (err != 0) {
        delete start;
    }
    return result(err);
}

int thrd_join(thrd_t thr, int* res) {
    void* value = nullptr;
    const int err = pthread_join(thr, &value);
    if (err == 0 && res != nullptr) {
        *res = static_cast<int>(reinterpret_cast<std::intptr_t>(value));
    }
    return result(err);
}

int thrd_detach(thrd_t thr) {
    return result(pthread_detach(thr));
}

int mtx_init(mtx_t* m, int type) {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    if ((type & mtx_recursive) != 0) {
        pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    }
    const int err = pthread_mutex_init(as_mutex(m), &attr);
    pthread_mutexattr_destroy(&attr);
    return result(err);
}

int mtx_lock(mtx_t* m) {
    return result(pthread_mutex_lock(as_mutex(m)));
}

int mtx_trylock(mtx_t* m) {
    return result(pthread_mutex_trylock(as_mutex(m)));
}

int mtx_timedlock(mtx_t* __restrict m, const struct timespec* __restrict until) {
    return result(pthread_mutex_timedlock(as_mutex(m), until));
}

int mtx_unlock(mtx_t* m) {
    return result(pthread_mutex_unlock(as_mutex(m)));
}

void mtx_destroy(mtx_t* m) {
    pthread_mutex_destroy(as_mutex(m));
}

int cnd_init(cnd_t* c) {
    return result(pthread_cond_init(as_cond(c), nullptr));
}

int cnd_signal(cnd_t* c) {
    return result(pthread_cond_signal(as_cond(c)));
}

int cnd_broadcast(cnd_t* c) {
    return result(pthread_cond_broadcast(as_cond(c)));
}

int cnd_wait(cnd_t* c, mtx_t* m) {
    return result(pthread_cond_wait(as_cond(c), as_mutex(m)));
}

int cnd_timedwait(cnd_t* __restrict c,
                  mtx_t* __restrict m,
                  const struct timespec* __restrict until) {
    return result(pthread_cond_timedwait(as_cond(c), as_mutex(m), until));
}

void cnd_destroy(cnd_t* c) {
    pthread_cond_destroy(as_cond(c));
}

void call_once(once_flag* flag, void (*func)(void)) {
    pthread_once(reinterpret_cast<pthread_once_t*>(flag), func);
}

} // extern "C"
