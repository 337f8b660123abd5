/*
 * probe: makes raw system calls from inside a container and reports what
 * the kernel answered, so tests read the filter's effect rather than trust
 * the spec. Static, so it runs in any root filesystem.
 *
 *   probe NAME NR [ARG...]   syscall(NR, ARG...) -> "NAME: ok" or "NAME: EPERM"
 *   probe int80 NAME NR      the same through the i386 ABI (int $0x80)
 *   probe loop NR COUNT [A0 A1 A2]
 *                            COUNT calls of syscall(NR, A0, A1, A2), prints "ns/call: N"
 *
 * ARGs are numbers (0x.. accepted); "buf" passes a pointer to a scratch buffer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

static char scratch[4096];

static long arg(const char *s) {
	if (strcmp(s, "buf") == 0)
		return (long)scratch;
	return (long)strtoull(s, NULL, 0);
}

static int report(const char *name, long r) {
	if (r < 0)
		printf("%s: %s\n", name, strerrorname_np(errno));
	else
		printf("%s: ok\n", name);
	return 0;
}

int main(int argc, char **argv) {
	if (argc >= 4 && strcmp(argv[1], "loop") == 0) {
		long nr = arg(argv[2]), n = arg(argv[3]), x[3] = {0};
		for (int i = 4; i < argc && i < 7; i++)
			x[i - 4] = arg(argv[i]);
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		for (long i = 0; i < n; i++)
			syscall(nr, x[0], x[1], x[2]);
		clock_gettime(CLOCK_MONOTONIC, &b);
		double ns = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
		printf("ns/call: %.1f\n", ns / n);
		return 0;
	}
	if (argc >= 4 && strcmp(argv[1], "int80") == 0) {
		long nr = arg(argv[3]), r;
		fflush(stdout);
		__asm__ volatile("int $0x80" : "=a"(r) : "a"(nr) : "memory");
		if (r < 0) {
			errno = -r;
			r = -1;
		}
		return report(argv[2], r);
	}
	if (argc < 3) {
		fprintf(stderr, "usage: probe NAME NR [ARG...] | probe int80 NAME NR | probe loop NR COUNT\n");
		return 2;
	}
	long a[6] = {0};
	for (int i = 3; i < argc && i < 9; i++)
		a[i - 3] = arg(argv[i]);
	return report(argv[1], syscall(arg(argv[2]), a[0], a[1], a[2], a[3], a[4], a[5]));
}
