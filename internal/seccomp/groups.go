package seccomp

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Groups are named sets of syscalls in the spirit of systemd's
// SystemCallFilter= groups (systemd.exec(5), src/shared/seccomp-util.c),
// usable in profiles as "@NAME" in seccomp.allow and seccomp.deny.
// "@default" is safe-run's default allowlist (DefaultAllow).
//
// Every syscall libseccomp knows for x86_64 and aarch64 is in at least
// one group or in Unclassified (groups_test.go checks it), so a new
// kernel's syscalls are noticed and classified on purpose.
//
// Groups may overlap, and an entry "@NAME" includes another group (as in
// systemd); expandGroups resolves the includes and sorts each group.
// Entries may name syscalls of other architectures (the 32-bit "chown32",
// "_llseek", the *_time64 calls, arm's "arm_fadvise64_64", ...) as long as
// libseccomp knows the name: on an architecture without that syscall it
// adds nothing to the filter.
//
// Where safe-run differs from systemd, on purpose:
//   - @privileged, like the other dangerous groups (@mount, @module,
//     @raw-io, @reboot, @swap, @debug, @keyring, @clock, @cpu-emulation,
//     @obsolete, @bpf, @perf, @io-uring, @kexec), holds nothing of the
//     default allowlist. systemd's @privileged also holds @chown, capset
//     and the set*uid/set*gid calls; without capabilities they can only
//     drop privileges (or act inside the container's user namespace), so
//     the default allowlist has them and they live in @chown and @setuid.
//   - @privileged gains what needs a capability or a sysctl opening in a
//     hardened kernel: syslog, userfaultfd (vm.unprivileged_userfaultfd=0),
//     @quota, @mount, @bpf, @perf, @kexec.
//   - @namespaces gathers clone, clone3, unshare and setns (they are in
//     @process too, as in systemd). Allowing them never lifts safe-run's
//     argument rules (see filtered): which namespaces a process may
//     create or join is seccomp.namespaces' business.
//   - io_uring_* are in @io-uring only, not @aio; process_vm_readv and
//     process_vm_writev (ptrace-like) are in @debug, not @ipc.
//   - @system-service has neither @keyring nor userfaultfd, so that it
//     adds nothing of a dangerous group; it is a superset of @default.
//   - the syscalls systemd keeps in its own @default group are in
//     @runtime here (the name "default" is safe-run's allowlist), and those
//     systemd lists only in @system-service got groups of their own:
//     @memory, @scheduler, @system-info.
var groupSpec = map[string][]string{
	"aio": {
		"io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64",
		"io_setup", "io_submit",
	},
	"basic-io": {
		"_llseek", "close", "close_range", "dup", "dup2", "dup3", "lseek", "pread64", "preadv",
		"preadv2", "pwrite64", "pwritev", "pwritev2", "read", "readv", "write", "writev",
		// safe-run: moving data between descriptors, and device control
		"copy_file_range", "ioctl", "sendfile", "sendfile64", "splice", "tee", "vmsplice",
	},
	"bpf": {"bpf"},
	"chown": {
		"chown", "chown32", "fchown", "fchown32", "fchownat", "lchown", "lchown32",
	},
	"clock": {
		"adjtimex", "clock_adjtime", "clock_adjtime64", "clock_settime", "clock_settime64",
		"settimeofday", "stime",
	},
	"cpu-emulation": {
		"modify_ldt", "subpage_prot", "switch_endian", "vm86", "vm86old",
	},
	"debug": {
		"lookup_dcookie", "perf_event_open", "pidfd_getfd", "ptrace", "rtas",
		"s390_runtime_instr", "sys_debug_setcontext",
		// safe-run: reading and writing another process's memory
		"process_vm_readv", "process_vm_writev",
	},
	"file-system": {
		"access", "chdir", "chmod", "close", "creat", "faccessat", "faccessat2", "fallocate",
		"fchdir", "fchmod", "fchmodat", "fchmodat2", "fcntl", "fcntl64", "fgetxattr",
		"flistxattr", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs",
		"fstatfs64", "ftruncate", "ftruncate64", "futimesat", "getcwd", "getdents",
		"getdents64", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1",
		"inotify_rm_watch", "lgetxattr", "link", "linkat", "listxattr", "llistxattr",
		"lremovexattr", "lsetxattr", "lstat", "lstat64", "mkdir", "mkdirat", "mknod",
		"mknodat", "newfstatat", "oldfstat", "oldlstat", "oldstat", "open", "openat",
		"openat2", "readlink", "readlinkat", "removexattr", "rename", "renameat",
		"renameat2", "rmdir", "setxattr", "stat", "stat64", "statfs", "statfs64", "statx",
		"symlink", "symlinkat", "truncate", "truncate64", "unlink", "unlinkat", "utime",
		"utimensat", "utimensat_time64", "utimes",
		// safe-run: what systemd lists only in @system-service
		"arm_fadvise64_64", "cachestat", "fadvise64", "fadvise64_64", "flock",
		"name_to_handle_at", "readahead", "readdir", "umask",
	},
	"io-event": {
		"_newselect", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_pwait",
		"epoll_pwait2", "epoll_wait", "eventfd", "eventfd2", "poll", "ppoll", "ppoll_time64",
		"pselect6", "pselect6_time64", "select",
	},
	"io-uring": {"io_uring_enter", "io_uring_register", "io_uring_setup"},
	// System V IPC is here too (no separate @sysv-ipc): in a container it
	// is private to the IPC namespace.
	"ipc": {
		"ipc", "memfd_create", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
		"mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink",
		"msgctl", "msgget", "msgrcv", "msgsnd", "pipe", "pipe2", "semctl", "semget", "semop",
		"semtimedop", "semtimedop_time64", "shmat", "shmctl", "shmdt", "shmget",
	},
	"kexec":   {"kexec_file_load", "kexec_load"},
	"keyring": {"add_key", "keyctl", "request_key"},
	"memlock": {"mlock", "mlock2", "mlockall", "munlock", "munlockall"},
	"memory": {
		"brk", "cacheflush", "get_mempolicy", "madvise", "map_shadow_stack", "membarrier",
		"memfd_create", "memfd_secret", "mincore", "mmap", "mmap2", "mprotect", "mremap",
		"msync", "munmap", "remap_file_pages",
	},
	"module": {"delete_module", "finit_module", "init_module"},
	"mount": {
		"chroot", "fsconfig", "fsmount", "fsopen", "fspick", "mount", "mount_setattr",
		"move_mount", "open_tree", "pivot_root", "umount", "umount2",
	},
	// All four keep safe-run's argument rules when allowed: the
	// namespaces themselves are chosen with seccomp.namespaces.
	"namespaces": {"clone", "clone3", "setns", "unshare"},
	"network-io": {
		"accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt",
		"listen", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "send",
		"sendmmsg", "sendmsg", "sendto", "setsockopt", "shutdown", "socket", "socketcall",
		"socketpair",
	},
	// Removed from the kernel, never implemented, or replaced long ago.
	"obsolete": {
		"_sysctl", "afs_syscall", "bdflush", "break", "create_module", "ftime",
		"get_kernel_syms", "getpmsg", "gtty", "idle", "lock", "mpx", "prof", "profil",
		"putpmsg", "query_module", "security", "sgetmask", "ssetmask", "stty", "sysfs",
		"tuxcall", "ulimit", "uselib", "ustat", "vserver",
		// safe-run: the knfsd interface (removed in Linux 3.1) and x86_64's
		// never-implemented epoll variants
		"epoll_ctl_old", "epoll_wait_old", "nfsservctl",
	},
	"perf": {"perf_event_open"},
	"pkey": {"pkey_alloc", "pkey_free", "pkey_mprotect"},
	"privileged": {
		"@clock", "@kexec", "@module", "@mount", "@quota", "@raw-io", "@reboot", "@swap",
		"_sysctl", "acct", "bpf", "fanotify_init", "fanotify_mark", "nfsservctl",
		"open_by_handle_at", "perf_event_open", "setdomainname", "sethostname", "syslog",
		"userfaultfd", "vhangup",
	},
	"process": {
		"capget", "clone", "clone3", "execveat", "fork", "getrusage", "kill", "pidfd_open",
		"pidfd_send_signal", "prctl", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "setns",
		"swapcontext", "tgkill", "times", "tkill", "unshare", "vfork", "wait4", "waitid",
		"waitpid",
		// safe-run: the rest of a process's life, identity and threads
		"arch_prctl", "execve", "exit", "exit_group", "futex", "futex_requeue",
		"futex_time64", "futex_wait", "futex_waitv", "futex_wake", "get_robust_list",
		"get_thread_area", "getegid", "getegid32", "geteuid", "geteuid32", "getgid",
		"getgid32", "getgroups", "getgroups32", "getpgid", "getpgrp", "getpid", "getppid",
		"getresgid", "getresgid32", "getresuid", "getresuid32", "getsid", "gettid", "getuid",
		"getuid32", "kcmp", "personality", "process_madvise", "process_mrelease",
		"restart_syscall", "rseq", "set_robust_list", "set_thread_area", "set_tid_address",
		"set_tls", "setpgid", "setsid",
	},
	"quota": {"quotactl", "quotactl_fd"},
	"raw-io": {
		"ioperm", "iopl", "pciconfig_iobase", "pciconfig_read", "pciconfig_write",
		"s390_pci_mmio_read", "s390_pci_mmio_write",
	},
	"reboot": {"kexec_file_load", "kexec_load", "reboot"},
	"resources": {
		"ioprio_set", "mbind", "migrate_pages", "move_pages", "nice", "sched_setaffinity",
		"sched_setattr", "sched_setparam", "sched_setscheduler", "set_mempolicy",
		"set_mempolicy_home_node", "setpriority", "setrlimit",
		// safe-run: getting and setting limits is one call
		"prlimit64",
	},
	// systemd's @default: what nearly every program's runtime (dynamic
	// loader, libc, Go) calls.
	"runtime": {
		"arch_prctl", "brk", "cacheflush", "clock_getres", "clock_getres_time64",
		"clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64",
		"execve", "exit", "exit_group", "futex", "futex_time64", "futex_waitv",
		"get_robust_list", "get_thread_area", "getegid", "getegid32", "geteuid", "geteuid32",
		"getgid", "getgid32", "getgroups", "getgroups32", "getpgid", "getpgrp", "getpid",
		"getppid", "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32",
		"getrlimit", "getsid", "gettid", "gettimeofday", "getuid", "getuid32", "membarrier",
		"mmap", "mmap2", "mprotect", "munmap", "nanosleep", "pause", "prlimit64",
		"restart_syscall", "riscv_flush_icache", "rseq", "rt_sigreturn", "sched_getaffinity",
		"sched_yield", "set_robust_list", "set_thread_area", "set_tid_address", "set_tls",
		"sigreturn", "time", "ugetrlimit",
	},
	"sandbox": {
		"landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "seccomp",
	},
	"scheduler": {
		"getcpu", "getpriority", "ioprio_get", "ioprio_set", "nice", "sched_get_priority_max",
		"sched_get_priority_min", "sched_getaffinity", "sched_getattr", "sched_getparam",
		"sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
		"sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler",
		"sched_yield", "setpriority",
	},
	"setuid": {
		"setgid", "setgid32", "setgroups", "setgroups32", "setregid", "setregid32",
		"setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32",
		"setuid", "setuid32",
		// safe-run: the other credential setters
		"capset", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32",
	},
	"signal": {
		"rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigsuspend", "rt_sigtimedwait",
		"rt_sigtimedwait_time64", "sigaction", "sigaltstack", "signal", "signalfd",
		"signalfd4", "sigpending", "sigprocmask", "sigsuspend",
		// safe-run: sending signals and returning from handlers
		"kill", "pidfd_send_signal", "rt_sigqueueinfo", "rt_sigreturn", "rt_tgsigqueueinfo",
		"sigreturn", "tgkill", "tkill",
	},
	"swap": {"swapoff", "swapon"},
	"sync": {
		"fdatasync", "fsync", "msync", "sync", "sync_file_range", "sync_file_range2",
		"syncfs",
	},
	"system-info": {"oldolduname", "olduname", "sysinfo", "uname"},
	"system-service": {
		"@aio", "@basic-io", "@chown", "@file-system", "@io-event", "@ipc", "@memlock",
		"@memory", "@network-io", "@pkey", "@process", "@resources", "@runtime", "@sandbox",
		"@scheduler", "@setuid", "@signal", "@sync", "@system-info", "@timer",
	},
	"timer": {
		"alarm", "getitimer", "setitimer", "timer_create", "timer_delete",
		"timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
		"timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
		"timerfd_settime", "timerfd_settime64", "times",
	},
}

// groupDoc says in one line what each group is for (profile show, errors).
var groupDoc = map[string]string{
	"default":        "safe-run's default allowlist: what ordinary programs need",
	"aio":            "POSIX asynchronous I/O (io_setup, io_submit, ...; io_uring is @io-uring)",
	"basic-io":       "reading, writing, seeking, splicing, duplicating and closing file descriptors; ioctl",
	"bpf":            "loading eBPF programs and maps into the kernel",
	"chown":          "changing file ownership",
	"clock":          "setting the system clock",
	"cpu-emulation":  "CPU emulation: vm86, modify_ldt and the like",
	"debug":          "debugging and tracing other processes: ptrace, process_vm_*, perf, pidfd_getfd",
	"file-system":    "file system access: opening, creating, renaming, stat, xattrs, inotify",
	"io-event":       "waiting for events: epoll, poll, select, eventfd",
	"io-uring":       "io_uring, a frequent source of kernel vulnerabilities",
	"ipc":            "pipes, POSIX message queues, System V IPC and memfd_create",
	"kexec":          "loading a new kernel to boot into",
	"keyring":        "the kernel keyring: add_key, keyctl, request_key",
	"memlock":        "locking memory into RAM",
	"memory":         "allocating, mapping and advising memory",
	"module":         "loading and unloading kernel modules",
	"mount":          "mounting, unmounting, chroot and pivot_root (old and new mount API)",
	"namespaces":     "creating and joining namespaces (argument-checked against seccomp.namespaces)",
	"network-io":     "sockets: creating, connecting, sending and receiving",
	"obsolete":       "unusual, removed or never implemented syscalls",
	"perf":           "perf_event_open: performance counters and tracing",
	"pkey":           "memory protection keys",
	"privileged":     "syscalls that need privileges (capabilities) on the host",
	"process":        "creating, running, identifying, waiting for and signalling processes and threads",
	"quota":          "disk quota control",
	"raw-io":         "raw I/O port and PCI access",
	"reboot":         "rebooting and kexec",
	"resources":      "changing resource limits, scheduling priorities and NUMA memory placement",
	"runtime":        "what nearly every program's runtime calls (systemd's @default)",
	"sandbox":        "a process restricting itself: seccomp and Landlock",
	"scheduler":      "reading and setting CPU and I/O scheduling",
	"setuid":         "changing user and group IDs, supplementary groups and capabilities",
	"signal":         "handling, waiting for and sending signals",
	"swap":           "enabling and disabling swap devices",
	"sync":           "flushing files and file systems to disk",
	"system-info":    "information about the system: uname, sysinfo",
	"system-service": "a broad allowlist for ordinary services, like systemd's (a superset of @default)",
	"timer":          "interval timers, POSIX timers and timerfd",
}

// groups are the expanded groups (sorted, unique) plus "default".
var groups = expandGroups(groupSpec)

// expandGroups expands the "@NAME" includes of spec and adds "default".
func expandGroups(spec map[string][]string) map[string][]string {
	out := map[string][]string{"default": DefaultAllow}
	var expand func(name string, path []string) []string
	expand = func(name string, path []string) []string {
		path = append(path, name)
		if slices.Contains(path[:len(path)-1], name) {
			panic("seccomp: syscall group cycle @" + strings.Join(path, " -> @"))
		}
		list, ok := spec[name]
		if !ok {
			panic("seccomp: unknown syscall group @" + strings.Join(path, " -> @"))
		}
		var names []string
		for _, s := range list {
			if sub, ok := strings.CutPrefix(s, "@"); ok {
				names = append(names, expand(sub, path)...)
			} else {
				names = append(names, s)
			}
		}
		slices.Sort(names)
		return slices.Compact(names)
	}
	for name := range spec {
		out[name] = expand(name, nil)
	}
	return out
}

// Unclassified lists syscalls libseccomp knows that no group holds yet.
// They are denied like every syscall outside the allowlist.
var Unclassified = []string{}

// Group returns the syscalls of the group NAME (written "@NAME").
func Group(name string) ([]string, error) {
	g, ok := groups[name]
	if !ok {
		return nil, fmt.Errorf("unknown syscall group \"@%s\" (valid: %s)", name, strings.Join(GroupNames(), ", "))
	}
	return g, nil
}

// GroupNames lists every group as "@NAME", sorted.
func GroupNames() []string {
	var out []string
	for n := range groups {
		out = append(out, "@"+n)
	}
	sort.Strings(out)
	return out
}

// GroupDoc returns the one-line description of a group.
func GroupDoc(name string) string { return groupDoc[name] }

// GroupsOf returns the groups (other than @default) holding syscall,
// sorted, for messages such as "in group @debug".
func GroupsOf(syscall string) []string {
	var out []string
	for name, list := range groups {
		if name == "default" {
			continue
		}
		for _, s := range list {
			if s == syscall {
				out = append(out, "@"+name)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// Known returns every syscall safe-run classifies (all groups plus
// Unclassified), sorted and unique: the filter names each of them
// explicitly, so that a denied known syscall gets the deny errno (EPERM)
// and only syscalls safe-run has never heard of get the default (ENOSYS).
func Known() []string { return known() }

// known is computed once: the groups are constant data.
var known = sync.OnceValue(func() []string {
	seen := map[string]bool{}
	for _, list := range groups {
		for _, s := range list {
			seen[s] = true
		}
	}
	for _, s := range Unclassified {
		seen[s] = true
	}
	for _, s := range extraKnown {
		seen[s] = true
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
})
