/* bench/alloc_count.c: a counting allocator shim for bench/run's allocs scenario.
 *
 *   gcc -O2 -shared -fPIC -Wall -Wextra -Werror -o alloc_count.so bench/alloc_count.c
 *   FULCRUM_ALLOC_COUNT_FILE=/tmp/counts LD_PRELOAD=./alloc_count.so fulcrum -c ...
 *
 * Interposes malloc, calloc, realloc, reallocarray, free, memalign, posix_memalign,
 * aligned_alloc, valloc and pvalloc, counts every call per thread and hands it on to glibc's
 * own allocator (__libc_malloc and friends), so the process allocates exactly as it would
 * without the shim. libstdc++'s operator new and delete call malloc, aligned_alloc and free
 * through the PLT, so they are counted too.
 *
 * The counters live in a file named by FULCRUM_ALLOC_COUNT_FILE, mapped MAP_SHARED: a reader
 * (bench/run) maps or reads the file at any moment and sees the current counts, with no
 * thread, signal or syscall in the counted process. Layout, all little-endian uint64:
 *
 *   slot 0 (the header, 8 words): magic ALLOC_MAGIC, version 1, slots (capacity, header
 *          included), slots used (header included), the pid that mapped the file, 3 unused
 *   slot 1: threads beyond the capacity, together (tid 0)
 *   slot i > 1: one thread: tid, allocations (malloc, calloc, the aligned ones, realloc of a
 *          null pointer), reallocations (realloc of a block, including reallocarray), frees
 *          (of a non-null pointer, and realloc to size 0), bytes requested (allocations and
 *          reallocations), 3 unused
 *
 * Each slot is one 64-byte cache line written by one thread only, so counting costs a load
 * and a store, no lock and no sharing between threads (the overflow slot uses atomic adds).
 * Without FULCRUM_ALLOC_COUNT_FILE the counts stay in memory and nothing is written. A
 * forked child counts into its own memory, not into the parent's file.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

extern void* __libc_malloc(size_t size);
extern void* __libc_calloc(size_t count, size_t size);
extern void* __libc_realloc(void* ptr, size_t size);
extern void __libc_free(void* ptr);
extern void* __libc_memalign(size_t alignment, size_t size);
extern void* __libc_valloc(size_t size);
extern void* __libc_pvalloc(size_t size);

#define ALLOC_MAGIC 0x544e554f43434c41ULL /* "ALCCOUNT" read as little-endian bytes */
#define SLOTS 256
#define OVERFLOW_SLOT 1

enum { W_TID, W_ALLOCS, W_REALLOCS, W_FREES, W_BYTES };
enum { H_MAGIC, H_VERSION, H_SLOTS, H_USED, H_PID };

struct slot {
    uint64_t w[8];
} __attribute__((aligned(64)));

struct table {
    struct slot s[SLOTS];
};

/* Counts go here until the constructor has mapped the file (libraries' constructors allocate
 * before ours runs), and in a forked child. */
static struct table fallback = {{{{ALLOC_MAGIC, 1, SLOTS, 2, 0, 0, 0, 0}}}};
static struct table* table = &fallback;

/* Initial-exec: the preloaded library's TLS is in the static block, so reading it never
 * calls __tls_get_addr (which may allocate). */
static __thread struct slot* my_slot __attribute__((tls_model("initial-exec")));

static struct slot* this_thread(void) {
    struct slot* s = my_slot;
    if (s) {
        return s;
    }
    struct table* t = __atomic_load_n(&table, __ATOMIC_ACQUIRE);
    uint64_t i = __atomic_fetch_add(&t->s[0].w[H_USED], 1, __ATOMIC_RELAXED);
    if (i >= SLOTS) {
        s = &t->s[OVERFLOW_SLOT];
    } else {
        s = &t->s[i];
        __atomic_store_n(&s->w[W_TID], (uint64_t)syscall(SYS_gettid), __ATOMIC_RELAXED);
    }
    my_slot = s;
    return s;
}

static void add(int word, uint64_t n) {
    struct slot* s = this_thread();
    if (s == &table->s[OVERFLOW_SLOT] || s == &fallback.s[OVERFLOW_SLOT]) {
        __atomic_fetch_add(&s->w[word], n, __ATOMIC_RELAXED);
    } else {
        /* only this thread writes its slot: a plain load and store, atomic for the reader */
        __atomic_store_n(&s->w[word], __atomic_load_n(&s->w[word], __ATOMIC_RELAXED) + n,
                         __ATOMIC_RELAXED);
    }
}

static void counted_alloc(void* p, size_t size) {
    if (p) {
        add(W_ALLOCS, 1);
        add(W_BYTES, size);
    }
}

static void in_child(void) {
    /* The child must not count into the parent's file: from here on, private memory. */
    table = &fallback;
    my_slot = NULL;
    fallback.s[0].w[H_USED] = 2;
}

__attribute__((constructor)) static void map_counters(void) {
    pthread_atfork(NULL, NULL, in_child);
    const char* path = getenv("FULCRUM_ALLOC_COUNT_FILE");
    if (!path || !*path) {
        return;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return;
    }
    if (ftruncate(fd, sizeof(struct table)) != 0) {
        close(fd);
        return;
    }
    void* m = mmap(NULL, sizeof(struct table), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        return;
    }
    /* Still one thread: what was counted so far moves into the file, and the slots taken so
     * far (the main thread's) move with it. */
    struct table* t = m;
    memcpy(t, &fallback, sizeof(struct table));
    t->s[0].w[H_PID] = (uint64_t)getpid();
    if (my_slot) {
        my_slot = &t->s[my_slot - fallback.s];
    }
    __atomic_store_n(&table, t, __ATOMIC_RELEASE);
}

void* malloc(size_t size) {
    void* p = __libc_malloc(size);
    counted_alloc(p, size);
    return p;
}

void* calloc(size_t count, size_t size) {
    void* p = __libc_calloc(count, size);
    counted_alloc(p, count * size);
    return p;
}

void* realloc(void* ptr, size_t size) {
    void* p = __libc_realloc(ptr, size);
    if (!ptr) {
        counted_alloc(p, size);
    } else if (size == 0) {
        add(W_FREES, 1); /* glibc frees the block and returns NULL */
    } else if (p) {
        add(W_REALLOCS, 1);
        add(W_BYTES, size);
    }
    return p;
}

void* reallocarray(void* ptr, size_t count, size_t size) {
    size_t bytes;
    if (__builtin_mul_overflow(count, size, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(ptr, bytes);
}

void free(void* ptr) {
    if (ptr) {
        add(W_FREES, 1);
    }
    __libc_free(ptr);
}

void* memalign(size_t alignment, size_t size) {
    void* p = __libc_memalign(alignment, size);
    counted_alloc(p, size);
    return p;
}

void* aligned_alloc(size_t alignment, size_t size) {
    void* p = __libc_memalign(alignment, size);
    counted_alloc(p, size);
    return p;
}

int posix_memalign(void** out, size_t alignment, size_t size) {
    if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0 || alignment == 0) {
        return EINVAL;
    }
    int saved = errno;
    void* p = __libc_memalign(alignment, size);
    if (!p) {
        errno = saved;
        return ENOMEM;
    }
    counted_alloc(p, size);
    *out = p;
    return 0;
}

void* valloc(size_t size) {
    void* p = __libc_valloc(size);
    counted_alloc(p, size);
    return p;
}

void* pvalloc(size_t size) {
    void* p = __libc_pvalloc(size);
    counted_alloc(p, size);
    return p;
}
