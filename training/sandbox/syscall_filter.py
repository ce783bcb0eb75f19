"""The system-call filter every sandboxed process runs under: a seccomp program built with libseccomp
(through pyseccomp), installed by the harness before any program code runs and inherited by everything the
program starts. It cannot be removed.

Refused (EPERM; the program sees an ordinary error):
* new namespaces and entering others (`unshare`, `setns`, `clone`/`clone3` with CLONE_NEW* flags): a nested
  user namespace would give the program a fresh tmpfs and mount rights outside every memory and file limit;
* anonymous memory files (`memfd_create`, `memfd_secret`): memory outside RLIMIT_AS;
* mounting and changing the filesystem view, `chroot`, `pivot_root`;
* watching or steering other processes (`ptrace`, `process_vm_*`, `pidfd_getfd`, `kcmp`,
  `perf_event_open`), kernel-side programs and keys (`bpf`, `keyctl`, `add_key`, `request_key`),
  `userfaultfd`, `io_uring_*` (which runs system calls past the filter);
* socket families other than unix, inet, inet6 and netlink's routing family; `ioctl(TIOCSTI)`;
* administration: modules, kexec, reboot, swap, clock and hostname changes, quotas, accounting, syslog.

`clone3` answers ENOSYS, so the C library falls back to `clone`, whose flags the filter can see. System calls
of another ABI (i386's int 0x80, x32) kill the process: they would number the calls differently.
"""

from __future__ import annotations

import errno
import functools
import tempfile

from engine.errors import CodescalerError

DENIED = (
    "unshare", "setns", "memfd_create", "memfd_secret", "mount", "umount2", "pivot_root", "chroot",
    "mount_setattr", "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount", "fspick",
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp", "perf_event_open",
    "bpf", "keyctl", "add_key", "request_key", "userfaultfd",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot",
    "swapon", "swapoff", "syslog", "acct", "quotactl", "quotactl_fd", "name_to_handle_at",
    "open_by_handle_at", "fanotify_init", "lookup_dcookie", "settimeofday", "clock_settime",
    "clock_adjtime", "adjtimex", "sethostname", "setdomainname", "iopl", "ioperm", "vhangup",
    "personality",
)  # fmt: skip
NAMESPACE_FLAGS = (
    0x00020000,
    0x02000000,
    0x04000000,
    0x08000000,
    0x10000000,
    0x20000000,
    0x40000000,
    0x00000080,
)
ALLOWED_SOCKET_FAMILIES = (1, 2, 10, 16)  # AF_UNIX, AF_INET, AF_INET6, AF_NETLINK
LAST_SOCKET_FAMILY = 46
NETLINK_ROUTE = 0
TIOCSTI = 0x5412


@functools.cache
def program() -> bytes:
    """The filter as classic BPF, for `harness._install_filter`; CodescalerError (with what to install)
    when libseccomp or pyseccomp is missing."""
    try:
        import pyseccomp as seccomp
    except (ImportError, OSError, RuntimeError) as exc:  # RuntimeError: pyseccomp found no libseccomp.so.2
        raise CodescalerError(
            f"no system-call filter ({exc}): install libseccomp2 and `pip install 'codescaler[train]'`"
        ) from exc
    rules = seccomp.SyscallFilter(seccomp.ALLOW)
    refuse = seccomp.ERRNO(errno.EPERM)
    for name in DENIED:
        try:
            rules.add_rule(refuse, name)
        except (OSError, ValueError, RuntimeError):  # a system call this libseccomp does not know
            continue
    for flag in NAMESPACE_FLAGS:
        rules.add_rule(refuse, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    for family in range(LAST_SOCKET_FAMILY):
        if family not in ALLOWED_SOCKET_FAMILIES:
            rules.add_rule(seccomp.ERRNO(errno.EAFNOSUPPORT), "socket", seccomp.Arg(0, seccomp.EQ, family))
    rules.add_rule(
        seccomp.ERRNO(errno.EAFNOSUPPORT),
        "socket",
        seccomp.Arg(0, seccomp.EQ, 16),
        seccomp.Arg(2, seccomp.NE, NETLINK_ROUTE),
    )
    rules.add_rule(refuse, "ioctl", seccomp.Arg(1, seccomp.MASKED_EQ, 0xFFFFFFFF, TIOCSTI))
    with tempfile.TemporaryFile() as handle:
        rules.export_bpf(handle)
        handle.seek(0)
        data = handle.read()
    return data
