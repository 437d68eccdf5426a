"""The box image in a VM: QEMU (TCG; KVM with COMPTOIR_VM_ACCEL=kvm where it runs ordinary
guests), swtpm as its TPM, the image's own kernel started directly (or UEFI: OVMF + systemd-boot
with COMPTOIR_VM_FIRMWARE=uefi), user-mode networking restricted to ports forwarded on
127.0.0.1, and the technician's serial console driven line by line."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "images" / "build.sh"
OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")
# Guest ports forwarded from 127.0.0.1: the two the daemon serves and some it must not.
GUEST_PORTS = (8443, 8444, 22, 80, 443, 5355, 8080)


def build_image(timeout_s: float = 3000) -> tuple[Path, float]:
    """images/build.sh (cached by the hash of its inputs): the disk and the seconds taken."""
    start = time.monotonic()
    done = subprocess.run(
        [str(BUILD)], capture_output=True, text=True, timeout=timeout_s, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"images/build.sh failed:\n{done.stderr[-4000:]}")
    return Path(done.stdout.strip().splitlines()[-1]), time.monotonic() - start


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Console:
    """The serial console (ttyS0, autologin root): commands in, output between markers out."""

    path: Path
    sock: socket.socket | None = None
    buffer: bytearray = field(default_factory=bytearray)
    lock: threading.Lock = field(default_factory=threading.Lock)
    n: int = 0

    def connect(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                sock = socket.socket(socket.AF_UNIX)
                sock.connect(str(self.path))
                break
            except OSError:
                sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.sock = sock
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self) -> None:
        assert self.sock is not None
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            with self.lock:
                self.buffer += data

    def send(self, text: str) -> None:
        assert self.sock is not None
        self.sock.sendall(text.encode())

    def wait_for(self, pattern: str, timeout_s: float, start: int = 0) -> re.Match[str]:
        deadline = time.monotonic() + timeout_s
        rx = re.compile(pattern)
        while True:
            with self.lock:
                text = self.buffer[start:].decode(errors="replace")
            found = rx.search(text)
            if found:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"console: no {pattern!r} in {timeout_s} s:\n{text[-3000:]}")
            time.sleep(0.1)

    def login(self, timeout_s: float) -> None:
        """Waits for the root shell the console logs in to, then makes it quiet and promptless."""
        deadline = time.monotonic() + timeout_s
        # Not a key before the getty: the firmware would take a keystroke for its setup menu.
        self.wait_for(r"automatic login", timeout_s)
        while True:
            mark = len(self.buffer)
            self.send("\rstty -echo; PS1=''; PS2=''; export TERM=dumb; echo READY-$((6*7))\r")
            try:
                self.wait_for(r"READY-42", 3, start=mark)
                return
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise

    def run(self, command: str, timeout_s: float = 120) -> tuple[int, str]:
        """Runs one shell command line as root; its exit status and output (stdout+stderr)."""
        self.n += 1
        n = self.n
        with self.lock:
            mark = len(self.buffer)
        self.send(
            f"printf '@@B%s@@\\n' {n}; {{ {command} ; }} </dev/null 2>&1; "
            f"printf '\\n@@E%s@@%s@@\\n' {n} $?\r"
        )
        found = self.wait_for(rf"(?s)@@B{n}@@\r?\n(.*?)\r?\n@@E{n}@@(\d+)@@", timeout_s, start=mark)
        return int(found.group(2)), found.group(1).replace("\r", "")

    def check(self, command: str, timeout_s: float = 120) -> str:
        code, out = self.run(command, timeout_s)
        if code != 0:
            raise AssertionError(f"`{command}` exited {code}:\n{out}")
        return out

    def write_file(self, path: str, data: bytes) -> None:
        import base64

        lines = base64.encodebytes(data).decode().splitlines()
        self.send(f"base64 -d > {path} <<'B64EOF'\r")
        for chunk in range(0, len(lines), 20):
            self.send("\r".join(lines[chunk : chunk + 20]) + "\r")
            time.sleep(0.05)
        self.send("B64EOF\r")
        self.check(f"test -s {path}")

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()


@dataclass
class Vm:
    """One boot of the image: a qcow2 overlay over the cached image keeps it pristine; the
    overlay and the TPM state survive a power cut (kill) so the next boot finds them."""

    image: Path
    workdir: Path
    ports: dict[int, int] = field(default_factory=dict)
    qemu: subprocess.Popen[bytes] | None = None
    swtpm: subprocess.Popen[bytes] | None = None
    console: Console | None = None
    started_at: float = 0.0
    # "direct": QEMU loads the image's own kernel and initramfs (kept beside the disk by
    # build.sh) with the command line of its boot entry; "uefi": OVMF + systemd-boot from the
    # disk's ESP, as a box boots. Under TCG the firmware and the loader alone take minutes and
    # test nothing of ours, so the boot test starts the kernel directly.
    firmware: str = field(default_factory=lambda: os.environ.get("COMPTOIR_VM_FIRMWARE", "direct"))
    _fds: list[int] = field(default_factory=list)

    def prepare(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "tpm").mkdir(exist_ok=True)
        subprocess.run(
            ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", str(self.image),
             str(self.workdir / "disk.qcow2")],
            check=True, timeout=60,
        )
        if self.firmware == "uefi":
            shutil.copy(OVMF_VARS, self.workdir / "OVMF_VARS.fd")
        self.ports = {guest: free_port() for guest in GUEST_PORTS}

    def boot(self) -> None:
        tpm_sock = self.workdir / "swtpm.sock"
        tpm_sock.unlink(missing_ok=True)
        self.swtpm = subprocess.Popen(
            ["swtpm", "socket", "--tpm2", "--tpmstate", f"dir={self.workdir / 'tpm'}",
             "--ctrl", f"type=unixio,path={tpm_sock}", "--terminate"],
            stdout=subprocess.DEVNULL, stderr=self._log("swtpm.log"),
        )
        deadline = time.monotonic() + 10
        while not tpm_sock.exists():
            if time.monotonic() > deadline:
                raise RuntimeError("swtpm did not start")
            time.sleep(0.05)
        console_sock = self.workdir / "console.sock"
        console_sock.unlink(missing_ok=True)
        fwd = ",".join(f"hostfwd=tcp:127.0.0.1:{h}-:{g}" for g, h in self.ports.items())
        # TCG unless told otherwise: this machine's /dev/kvm is kvm-pvm, which only runs guest
        # kernels built for PVM (OVMF stops at its first FPU instruction, Debian's kernel hangs
        # after "Probing EDD"). COMPTOIR_VM_ACCEL=kvm where KVM runs ordinary guests.
        accel = os.environ.get("COMPTOIR_VM_ACCEL", "tcg")
        cpu = ["-cpu", "max"] if accel == "tcg" else []
        accel_opt = "tcg,thread=multi" if accel == "tcg" else accel
        smp = os.environ.get("COMPTOIR_VM_SMP", "2")
        if self.firmware == "uefi":
            boot = [
                "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
                "-drive", f"if=pflash,format=raw,unit=1,file={self.workdir / 'OVMF_VARS.fd'}",
            ]
        else:
            kernel = self.image.parent
            boot = [
                "-kernel", str(kernel / "vmlinuz"), "-initrd", str(kernel / "initrd.img"),
                "-append", (kernel / "cmdline").read_text().strip(),
            ]
        cmd = [
            "qemu-system-x86_64", "-machine", "q35", "-accel", accel_opt, *cpu,
            "-m", "1024", "-smp", smp,
            "-nodefaults", "-display", "none", "-monitor", "none", *boot,
            "-drive", f"file={self.workdir / 'disk.qcow2'},if=virtio,format=qcow2,cache=writeback",
            "-chardev", f"socket,id=con,path={console_sock},server=on,wait=off,"
            f"logfile={self.workdir / 'console.log'},logappend=on",
            "-serial", "chardev:con",
            "-chardev", f"socket,id=tpm,path={tpm_sock}",
            "-tpmdev", "emulator,id=tpm0,chardev=tpm", "-device", "tpm-tis,tpmdev=tpm0",
            # Nothing leaves the VM: restrict=on, only these forwards from 127.0.0.1 reach it.
            "-netdev", f"user,id=n0,restrict=on,{fwd}", "-device", "virtio-net-pci,netdev=n0",
        ]
        self.started_at = time.monotonic()
        self.qemu = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=self._log("qemu.log")
        )
        self.console = Console(console_sock)
        self.console.connect(timeout_s=20)

    def _log(self, name: str) -> int:
        """A file descriptor the child inherits; ours is closed once it has been handed over."""
        fd = os.open(self.workdir / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._fds.append(fd)
        return fd

    def power_cut(self) -> None:
        """SIGKILL: no shutdown, no sync, no flush of the guest's caches beyond what it did."""
        if self.qemu is not None and self.qemu.poll() is None:
            self.qemu.send_signal(signal.SIGKILL)
            self.qemu.wait(timeout=30)
        self._stop_helpers()

    def stop(self) -> None:
        if self.qemu is not None and self.qemu.poll() is None:
            self.qemu.terminate()
            try:
                self.qemu.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.qemu.kill()
                self.qemu.wait(timeout=20)
        self._stop_helpers()

    def _stop_helpers(self) -> None:
        while self._fds:
            os.close(self._fds.pop())
        if self.console is not None:
            self.console.close()
        if self.swtpm is not None:
            try:
                self.swtpm.wait(timeout=10)  # --terminate: exits with its QEMU connection
            except subprocess.TimeoutExpired:
                self.swtpm.kill()
                self.swtpm.wait(timeout=10)

    def port(self, guest: int) -> int:
        return self.ports[guest]
