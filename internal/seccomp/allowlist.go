// Package seccomp holds safe-run's syscall allowlist (data), turns an
// allowlist into the OCI seccomp object (pure), and checks names against
// libseccomp (validate.go, cgo).
package seccomp

// DefaultAllow is the allowlist of the `default` profile: what ordinary
// programs (shells, coreutils, interpreters, Go and glibc binaries) use.
//
// Left out on purpose, because nearly every container escape and kernel
// exploit of the last decade goes through one of them and ordinary programs
// never need them: mount/umount2/pivot_root/chroot and the new mount API,
// setns, namespace flags in clone/unshare (argument rules, see filtered),
// ptrace/process_vm_*, bpf, perf_event_open, userfaultfd, keyctl/add_key/
// request_key, kexec_*, *_module, open_by_handle_at, io_uring_*, acct,
// swapon/swapoff, reboot, syslog, quotactl, iopl/ioperm, clock/time setters,
// sethostname/setdomainname. A profile adds names with seccomp.allow.
var DefaultAllow = []string{
	// files and directories
	"access", "chdir", "chmod", "chown", "close", "close_range", "copy_file_range", "creat",
	"dup", "dup2", "dup3", "faccessat", "faccessat2", "fadvise64", "fallocate", "fchdir",
	// fchmodat2 (and the futex2 calls, map_shadow_stack, cachestat below):
	// newer calls that libseccomp knows, so they would get EPERM, on which
	// glibc does not fall back to the older call as it does on ENOSYS.
	"cachestat", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchownat", "fcntl", "fdatasync", "fgetxattr",
	"flistxattr", "flock", "fremovexattr", "fsetxattr", "fstat", "fstatfs", "fsync",
	"ftruncate", "futimesat", "getcwd", "getdents", "getdents64", "getxattr", "lchown",
	"lgetxattr", "link", "linkat", "listxattr", "llistxattr", "lremovexattr", "lseek",
	"lsetxattr", "lstat", "mkdir", "mkdirat", "mknod", "mknodat", "newfstatat", "open",
	"openat", "openat2", "pread64", "preadv", "preadv2", "pwrite64", "pwritev", "pwritev2",
	"read", "readahead", "readlink", "readlinkat", "readv", "removexattr", "rename",
	"renameat", "renameat2", "rmdir", "sendfile", "setxattr", "splice", "stat", "statfs",
	"statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "tee", "truncate",
	"umask", "unlink", "unlinkat", "utime", "utimensat", "utimes", "write", "writev",
	// events, polling and async I/O
	"epoll_create", "epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_pwait2", "epoll_wait",
	"eventfd", "eventfd2", "inotify_add_watch", "inotify_init", "inotify_init1",
	"inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents", "io_pgetevents",
	"io_setup", "io_submit", "ioctl", "pause", "pipe", "pipe2", "poll", "ppoll", "pselect6",
	"select", "vmsplice", "signalfd", "signalfd4", "timerfd_create", "timerfd_gettime", "timerfd_settime",
	// memory
	"brk", "get_mempolicy", "pkey_alloc", "pkey_free", "pkey_mprotect", "madvise", "membarrier", "memfd_create", "mincore", "mlock",
	"map_shadow_stack", "mlock2", "mlockall", "mmap", "mprotect", "mremap", "msync", "munlock", "munlockall",
	"munmap", "remap_file_pages",
	// processes, threads and signals (clone, clone3, unshare and
	// personality always carry argument rules: see filtered)
	"arch_prctl", "capget", "capset", "clone", "clone3", "personality", "unshare", "execve", "execveat", "exit", "exit_group", "fork",
	"futex", "futex_requeue", "futex_wait", "futex_waitv", "futex_wake", "get_robust_list", "get_thread_area", "getcpu", "getegid", "geteuid", "getgid",
	"getgroups", "getitimer", "getpgid", "getpgrp", "getpid", "getppid", "getpriority",
	"getresgid", "getresuid", "getrlimit", "getrusage", "getsid", "gettid", "getuid", "ioprio_get",
	"ioprio_set", "kill", "pidfd_open", "pidfd_send_signal", "prctl", "prlimit64",
	"restart_syscall", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
	"rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
	"rt_tgsigqueueinfo", "sched_get_priority_max", "sched_get_priority_min",
	"sched_getaffinity", "sched_getattr", "sched_getparam", "sched_getscheduler",
	"sched_rr_get_interval", "sched_setaffinity", "sched_setattr", "sched_setparam",
	"sched_setscheduler", "sched_yield", "set_robust_list", "set_thread_area",
	"set_tid_address", "setfsgid", "setfsuid", "setgid", "setgroups", "setitimer",
	"setpgid", "setpriority", "setregid", "setresgid", "setresuid", "setreuid", "setrlimit",
	"setsid", "setuid", "sigaltstack", "tgkill", "tkill", "vfork", "wait4", "waitid",
	// time
	"alarm", "clock_getres", "clock_gettime", "clock_nanosleep", "getrandom", "gettimeofday",
	"nanosleep", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
	"timer_settime", "times",
	// sockets (network reach is the network namespace's business, not seccomp's)
	"accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt",
	"listen", "recvfrom", "recvmmsg", "recvmsg", "sendmmsg", "sendmsg", "sendto",
	"setsockopt", "shutdown", "socket", "socketpair",
	// System V and POSIX IPC (private to the container's IPC namespace)
	"mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedsend", "mq_unlink",
	"msgctl", "msgget", "msgrcv", "msgsnd", "semctl", "semget", "semop", "semtimedop",
	"shmat", "shmctl", "shmdt", "shmget",
	// system information and self-sandboxing
	// (seccomp itself only ever adds restrictions: no_new_privs is set)
	"landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "seccomp", "sysinfo",
	"uname",
}

// filtered names the syscalls Build always gives argument rules (when the
// allowlist holds them; otherwise they are refused like any other).
var filtered = map[string]string{
	"clone":       "only without the namespace flags seccomp.namespaces does not list",
	"clone3":      "always ENOSYS: its flags are out of the filter's reach, and libc falls back to clone",
	"unshare":     "only without the namespace flags seccomp.namespaces does not list",
	"setns":       "only for the namespaces seccomp.namespaces lists",
	"socket":      "only for the families seccomp.socket-families lists",
	"ioctl":       "all requests but TIOCSTI and TIOCLINUX",
	"personality": "only the harmless personas (PER_LINUX, UNAME26, ...)",
}

// ArgumentRule describes the argument rule of a filtered syscall, or "".
func ArgumentRule(name string) string { return filtered[name] }
