/*
 * Which of a binary's functions run, and in which order: an LD_PRELOAD
 * library used by scripts/order-functions (never by the tests, never linked
 * into gameday).
 *
 * At load it writes a breakpoint (int3) on the first byte of every function
 * listed in $TRACE_FUNCS (hex addresses relative to the binary's load base,
 * from nm). The first call of each traps once: the handler records the
 * function, puts its byte back and resumes it. At exit it writes the
 * functions in the order they first ran to $TRACE_OUT.<pid>. Only the
 * binary named by $TRACE_EXE is traced (children of other programs are left
 * alone).
 *
 * A function a thread enters while another is restoring it traps again and
 * finds its byte already restored: the handler only resumes it.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

static unsigned long base, lo, hi;
static unsigned long *fn;
static unsigned char *orig;
static long nfn;
static unsigned int *hits;
static long nhits;
static char out[4096];

static long find(unsigned long a) {
    long l = 0, h = nfn - 1;
    while (l <= h) {
        long m = l + (h - l) / 2;
        if (fn[m] == a) return m;
        if (fn[m] < a) l = m + 1; else h = m - 1;
    }
    return -1;
}

static void on_trap(int sig, siginfo_t *si, void *ucv) {
    (void)sig; (void)si;
    ucontext_t *uc = ucv;
    unsigned long pc = uc->uc_mcontext.gregs[REG_RIP] - 1;
    long i = pc >= base ? find(pc - base) : -1;
    if (i < 0) {
        /* Not ours: let the next trap do what it would have done. */
        signal(SIGTRAP, SIG_DFL);
        return;
    }
    unsigned char *p = (unsigned char *)pc;
    if (__atomic_exchange_n(p, orig[i], __ATOMIC_SEQ_CST) == 0xCC) {
        long k = __atomic_fetch_add(&nhits, 1, __ATOMIC_SEQ_CST);
        hits[k] = (unsigned int)i;
    }
    uc->uc_mcontext.gregs[REG_RIP] = pc;
}

__attribute__((destructor)) static void dump(void) {
    if (!hits) return;
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
    if (fd < 0) return;
    FILE *f = fdopen(fd, "w");
    for (long k = 0; k < nhits; k++) fprintf(f, "%lx\n", fn[hits[k]]);
    fclose(f);
}

static int by_address(const void *a, const void *b) {
    unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;
    return x < y ? -1 : x > y;
}

static int find_mappings(const char *exe) {
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return -1;
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        unsigned long a, b, off;
        char perm[8], path[4096] = "";
        if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %4095s", &a, &b, perm, &off, path) < 4) continue;
        if (strcmp(path, exe)) continue;
        if (off == 0 && !base) base = a;
        if (perm[2] == 'x') { lo = a; hi = b; }
    }
    fclose(f);
    return lo ? 0 : -1;
}

static int read_functions(const char *list) {
    FILE *f = fopen(list, "r");
    if (!f) return -1;
    long cap = 1 << 21;
    fn = malloc(cap * sizeof *fn);
    unsigned long v;
    while (nfn < cap && fscanf(f, "%lx", &v) == 1) {
        if (base + v >= lo && base + v < hi) fn[nfn++] = v;
    }
    fclose(f);
    qsort(fn, nfn, sizeof *fn, by_address);
    long n = 0;
    for (long i = 0; i < nfn; i++)
        if (!n || fn[i] != fn[n - 1]) fn[n++] = fn[i];
    nfn = n;
    orig = malloc(nfn);
    hits = calloc(nfn, sizeof *hits);
    return 0;
}

__attribute__((constructor)) static void start(void) {
    const char *o = getenv("TRACE_OUT"), *list = getenv("TRACE_FUNCS"), *want = getenv("TRACE_EXE");
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (!o || !list || !want || n < 0) return;
    exe[n] = 0;
    if (strcmp(want, exe) || find_mappings(exe) || read_functions(list)) return;
    snprintf(out, sizeof out, "%s.%d", o, getpid());
    if (mprotect((void *)lo, hi - lo, PROT_READ | PROT_WRITE | PROT_EXEC)) return;
    for (long i = 0; i < nfn; i++) orig[i] = *(unsigned char *)(base + fn[i]);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_trap;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGTRAP, &sa, 0);
    for (long i = 0; i < nfn; i++) *(unsigned char *)(base + fn[i]) = 0xCC;
}
