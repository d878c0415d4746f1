"""The supervisor of one run: starts roles when the trace shows the previous one ready, feeds scripts,
decides when the run is over, and stops what is left.

It looks at the recording when a role prints something, soon again after anything moved, and every
few milliseconds otherwise (`wakeup`); it never sleeps to synchronise:
a role starts once its predecessor's `listen` or `bind` has been recorded, a scripted line is given
when the program's `stdin-wait` is recorded. The run is over when every process has ended, when a
scenario's expected ending shows (nothing moving), at a deadlock, at the timeout, when the disk
fills up, or when ipctrace is asked to stop (`stopping`). `stop()` then notes what each live process
waits in (from /proc, `waits`) and kills every process of the run, including daemons that left their
process group: ipctrace is their subreaper.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import ipctrace.session.procfs as procfs
import ipctrace.session.waits as waits
from ipctrace.model import ExitStatus, Pid
from ipctrace.record.gate import ENV_EXPLORE, ENV_PATH
from ipctrace.scenarios import Role, Scenario
from ipctrace.session.lineage import Lineage
from ipctrace.session.output import OutputPrinter
from ipctrace.session.recording import Recording
from ipctrace.session.results import Ending
from ipctrace.session.roles import HeldRole, RoleRun, hold, launch
from ipctrace.session.stopping import StopSignals
from ipctrace.session.wakeup import POLL_SECONDS, Wakeup
from ipctrace.unrecorded import is_python, reached, waits_for_input

SERVICE_GRACE = 2.0  # seconds a service's children get to end before the service is stopped anyway
DEADLOCK_IDLE = 2.0  # seconds with nothing recorded while every process waits on another: a deadlock
INPUT_WATCH = 0.25  # seconds with nothing recorded before /proc is asked whether a scripted role waits on its input
IDLE_LOOK = 0.25  # seconds between two looks in /proc at whether every process waits, once an ending's idle time is up
UDP_POLL_SECONDS = 0.2  # how often the UDP sockets' drop counters are read


class Supervisor:
    """Drives one run: starts roles, feeds scripts, watches the trace, stops and reaps."""

    def __init__(
        self,
        scenario: Scenario,
        env: dict[str, str],
        recording: Recording,
        subst: dict[str, str],
        printer: OutputPrinter,
        timeout: float,
        stop: StopSignals,
        native_note: str | None = "",
    ) -> None:
        self.scenario = scenario
        self.env = env
        self.recording = recording
        self.subst = subst
        self.printer = printer
        self.timeout = timeout
        self.stop_signals = stop
        self.native_note = native_note  # "": the native recorder is in LD_PRELOAD; else why it is not
        self.runs: list[RoleRun] = []
        self.lineage = Lineage()  # each process's role and parent, the endpoints seen, from the records
        self.reaped: dict[Pid, ExitStatus] = {}
        self.blocked_records: list[dict[str, Any]] = []  # what stop() read from /proc, added to the trace
        self.udp_drops: dict[int, int] = {}  # UDP socket inode -> datagrams its receive queue dropped
        self._killed: set[Pid] = set()  # what stop() killed, to be reaped
        self._orphans: set[Pid] = set()  # processes of the run ipctrace adopted (see _adopted)
        self.held: HeldRole | None = None  # the next role, started early and waiting (see _hold_next)
        self.wakeup = Wakeup()  # what ends the wait between two looks: a role's output, or time
        printer.on_output = self.wakeup.poke
        self.last_activity = time.monotonic()
        self._others_done_at: float | None = None
        self._next_deadlock_check = 0.0
        self._next_input_check = 0.0
        self._next_idle_check = 0.0
        self._next_udp_check = 0.0

    # -- the trace as it grows -------------------------------------------------------------------------

    def _read_new_events(self) -> list[dict[str, Any]]:
        records, moved = self.recording.poll()
        if moved:
            self.last_activity = time.monotonic()
            self.wakeup.moved()
        return records

    def _handle(self, obj: dict[str, Any]) -> None:
        pid = self.lineage.note(obj)
        run = self._run_of(pid)
        if run is None:
            return
        call = obj.get("call")
        run.recorded = True
        if call in run.role.ready:
            run.ready = True
        if call == "stdin-wait" and not run.role.interactive:
            run.deliver_input(self.printer, all_of_it=(obj.get("args") or {}).get("want") == "all")

    def _run_of(self, pid: Pid) -> RoleRun | None:
        role = self.lineage.role_of.get(pid)
        return next((r for r in self.runs if r.role.name == role), None)

    # -- processes -------------------------------------------------------------------------------------

    def start_role(self, role: Role) -> None:
        if self.held is not None and self.held.run.role is role:  # started already: its turn has come
            run, self.held = self.held.release(), None
        else:
            command = self._command(role)
            env = {**self.env, ENV_PATH: role.name} if ENV_EXPLORE in self.env else self.env  # a replayed schedule
            run = launch(role, command, env, self.subst.get("cwd"), self.printer, self.native_note)
        self.lineage.role_of[run.proc.pid] = role.name
        self.runs.append(run)
        self.wakeup.moved()
        self._hold_next()

    def _command(self, role: Role) -> list[str]:
        return [arg.format(**self.subst) for arg in role.command]

    def _hold_next(self) -> None:
        """Start the next role's interpreter now, held before its program's first line until its turn.

        A role waiting for the one before it to be ready (its `listen`) would otherwise start its interpreter,
        and import the recorder, only then: ~0.1 s on the run's critical path. Held, it does that meanwhile
        and waits on a pipe (`ENV_HOLD`), before the recorder records anything: its start event, descriptors,
        argv, environment and standard streams are what they would be if it were started at its turn. Only a
        Python program the Python recorder enters is held, never in an explored or replayed schedule (the
        explorer's gate starts each role itself), nor a program reading the terminal.
        """
        roles = self.scenario.roles
        if self.held is not None or len(self.runs) >= len(roles) or not self.runs[-1].role.ready:
            return
        self.held = self._hold(roles[len(self.runs)])

    def hold_first(self) -> None:
        """Start the first role's interpreter now, held as the next one is (`_hold_next`) until `run()` starts it.

        What the run does before its first program (opening the capture) then overlaps the interpreter's
        start-up instead of coming before it.
        """
        if not self.runs and self.held is None:
            self.held = self._hold(self.scenario.roles[0])

    def _hold(self, role: Role) -> HeldRole | None:
        command = self._command(role)
        if role.interactive or ENV_EXPLORE in self.env or not is_python(tuple(command)):
            return None
        return hold(role, command, self.env, self.subst.get("cwd"), self.printer, self.native_note)

    def _follow_unrecorded(self, final: bool = False) -> bool:
        """For roles that record nothing, learn from /proc what the trace would say: children, readiness, input.

        Returns whether such a role still has a live process (`final`: after a fresh look at its group).
        """
        left = False
        for run in self.runs:
            if run.watch is None or run.recorded:
                continue
            pids = {run.proc.pid, *run.watch.scan(force=final)}
            for pid in pids:
                self.lineage.role_of.setdefault(pid, run.role.name)  # reaped and stopped like recorded children
            left = left or any(procfs.alive(pid) for pid in pids)
            if not run.ready and run.role.ready and (run.exit is not None or reached(pids, run.role.ready)):
                run.ready, self.last_activity = True, time.monotonic()
            stdin = run.proc.stdin
            if stdin is not None and not stdin.closed and not run.role.interactive:
                if waits_for_input(pids, stdin.fileno()):
                    run.deliver_input(self.printer, all_of_it=False)
                    self.last_activity = time.monotonic()
        return left

    def _feed_unmarked_reads(self, now: float) -> None:
        """A recorded role reading its script where no `stdin-wait` said so gets its next line once /proc shows it.

        The recorders mark the reads and waits of fd 0 they know (sys.stdin, os.read, select, libc's read); a
        program can read its input another way (libc through ctypes, a static binary, a raw system call). Asked only
        after a quiet spell, and only when the role's input pipe is empty. A marker written before that read
        is in the log by the time /proc shows the read, so the log is looked at once more first: a line
        given for a marker is never given twice.
        """
        if now - self.last_activity < INPUT_WATCH or now < self._next_input_check:
            return
        self._next_input_check = now + INPUT_WATCH
        for run in self.runs:
            stdin = run.proc.stdin
            if run.watch is not None and not run.recorded or run.role.interactive or stdin is None or stdin.closed:
                continue  # a role no recorder enters is fed by `_follow_unrecorded`
            pids = [pid for pid in self._live_pids() if self.lineage.role_of[pid] == run.role.name]
            if not waits_for_input(pids, stdin.fileno()):
                continue
            given = run.given
            for obj in self._read_new_events():
                self._handle(obj)
            if run.given == given and not stdin.closed:
                run.deliver_input(self.printer, all_of_it=False)
                run.unmarked += 1
                self.last_activity = time.monotonic()

    def _reap(self) -> None:
        for pid in [*self.lineage.role_of, *self._orphans]:
            if pid in self.reaped:
                continue
            try:
                got, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                continue
            if got:
                self._reaped(pid, status)

    def _reaped(self, pid: Pid, status: int) -> None:
        self.reaped[pid] = ExitStatus.from_wait_status(status)
        for run in self.runs:
            if run.proc.pid == pid:
                run.exit = self.reaped[pid]
                run.proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again

    def _is_live(self, pid: Pid) -> bool:
        return pid not in self.reaped and procfs.alive(pid)

    def _has_live_process(self, role: str) -> bool:
        return any(r == role and self._is_live(pid) for pid, r in self.lineage.role_of.items())

    def _live_pids(self) -> list[Pid]:
        return [pid for pid in self.lineage.role_of if self._is_live(pid)]

    def _stop_services_when_done(self) -> None:
        """SIGTERM a service once the other roles have ended and its own children have been reaped.

        Waiting for the children (up to SERVICE_GRACE seconds) lets a server's SIGCHLD handler see
        the last of them, as it would in a lecture where the server is stopped by hand afterwards.
        """
        services = [r for r in self.runs if r.role.service and not r.terminated and r.exit is None]
        if not services:
            return
        others = {r.role.name for r in self.runs if not r.role.service}
        if any(procfs.alive(pid) for pid, role in self.lineage.role_of.items() if role in others):
            return
        now = time.monotonic()
        if self._others_done_at is None:
            self._others_done_at = now
        for r in services:
            children = [pid for pid, role in self.lineage.role_of.items() if role == r.role.name and pid != r.proc.pid]
            waiting = now - self._others_done_at < SERVICE_GRACE
            if waiting and any(Path(f"/proc/{pid}").exists() for pid in children):
                continue
            if waiting and not waits.idle(r.proc.pid):  # e.g. its SIGCHLD handler still printing what it reaped
                continue
            r.terminated = True
            os.kill(r.proc.pid, signal.SIGTERM)

    def _watch_udp(self, now: float) -> None:
        """Keep the highest drop count each UDP socket of the run has shown (a closed socket's is gone)."""
        sockets = self.lineage.udp_sockets
        if now < self._next_udp_check or not sockets:
            return
        self._next_udp_check = now + UDP_POLL_SECONDS
        for inode, drops in procfs.udp_drops(sockets).items():
            self.udp_drops[inode] = max(drops, self.udp_drops.get(inode, 0))

    # -- the run ---------------------------------------------------------------------------------------

    def run(self) -> tuple[Ending, str]:
        """Run to the end; returns (ending, message). A stop signal ends the run early, keeping what it recorded."""
        deadline = time.monotonic() + self.timeout
        self.start_role(self.scenario.roles[0])
        while True:
            outcome = self._step(deadline)
            if outcome is not None:
                return outcome
            self.wakeup.wait()

    def _step(self, deadline: float) -> tuple[Ending, str] | None:
        """One look at the run: start the next role if it may, or say how the run ended (None: not yet)."""
        for obj in self._read_new_events():
            self._handle(obj)
        self._reap()
        self._follow_unrecorded()
        now = time.monotonic()
        self._feed_unmarked_reads(now)
        self._watch_udp(now)
        roles = self.scenario.roles
        if len(self.runs) < len(roles):
            return self._start_next(roles[len(self.runs)]) or self._cut_short(now, deadline)
        self._stop_services_when_done()
        if not self._live_pids() and not self._adopted() and not self._follow_unrecorded(final=True):
            return Ending.COMPLETE, ""
        return self._stalled(now) or self._cut_short(now, deadline)

    def _start_next(self, role: Role) -> tuple[Ending, str] | None:
        """Start `role` if the one before it is ready; a predecessor that ended unready fails the run."""
        previous = self.runs[-1]
        # A role is all its processes: a child can still get it ready after the first one ended (a forked
        # writer's `shutdown` completed after its reader's exit, a server gone to the background).
        ended = previous.exit is not None and not self._has_live_process(previous.role.name)
        if previous.exit is not None and not previous.ready:
            for obj in self._read_new_events():  # what it recorded before it ended (looked at after `ended`)
                self._handle(obj)
        if previous.ready or not previous.role.ready:
            self.start_role(role)
        elif ended:
            return Ending.FAILED, (
                f"{previous.role.name} ended ({previous.exit}) before it was ready "
                f"(it never reached {' or '.join(previous.role.ready)}); see its output above."
            )
        return None

    def _stalled(self, now: float) -> tuple[Ending, str] | None:
        """Every role started, processes still live, nothing moving: the expected ending, or a deadlock.

        Nothing is judged before each role has recorded something (or ended, or is followed through /proc
        because no recorder enters it): a program still starting up (the interpreter, its imports) is not idle.
        """
        if not all(r.recorded or r.watch is not None or r.exit is not None for r in self.runs):
            return None
        ending = self.scenario.ending
        if ending is not None and now - self.last_activity > ending.idle and self._all_waiting(now):
            return Ending.IDLE, ""
        if ending is None and self._deadlocked(now):
            return Ending.DEADLOCK, (
                f"every process has been waiting for another for {DEADLOCK_IDLE:g} s with "
                "nothing moving: a deadlock (what each waits in is listed below)"
            )
        return None

    def _cut_short(self, now: float, deadline: float) -> tuple[Ending, str] | None:
        """The timeout, a full disk, or a stop signal."""
        if now > deadline:
            return Ending.TIMEOUT, f"the run did not end within its timeout of {self.timeout:g} s"
        return self._interrupted()

    def _interrupted(self) -> tuple[Ending, str] | None:
        if self.printer.disk_full is not None:
            return Ending.DISK_FULL, f"the disk filled up ({self.printer.disk_full.strerror}), so the run stopped"
        if self.stop_signals.caught is not None:
            return Ending.INTERRUPTED, f"{self.stop_signals.why()}; the trace holds what was recorded until then"
        return None

    def _all_waiting(self, now: float) -> bool:
        """Every live process sleeps in a system call: a program computing (or preempted) is not idle, however long.

        Looked at every `IDLE_LOOK` seconds at most (`waits.all_waiting`).
        """
        if now < self._next_idle_check:
            return False
        self._next_idle_check = now + IDLE_LOOK
        return waits.all_waiting(self._live_pids())

    def _deadlocked(self, now: float) -> bool:
        """Nothing recorded for a while, and every live process waits in a call only another could end.

        Runs that read the user's terminal are never judged: the user may simply be thinking.
        """
        if now - self.last_activity < DEADLOCK_IDLE or now < self._next_deadlock_check:
            return False
        self._next_deadlock_check = now + 0.5
        if any(r.role.interactive for r in self.runs):
            return False
        return waits.all_wait_on_others(self._live_pids())

    # -- the end ---------------------------------------------------------------------------------------

    def stop(self) -> None:
        """Note what every live process is blocked in, then kill every process of the run and reap them."""
        held, self.held = self.held, None
        if held is not None:  # the run ended before its turn
            held.discard()
        for obj in self._read_new_events():
            self._handle(obj)
        self._reap()
        self._next_udp_check = 0.0
        self._watch_udp(time.monotonic())  # before the sockets close with their processes
        self.blocked_records = [
            self.lineage.blocked_record(pid, call) for pid, call in waits.blocked_calls(self._live_pids).items()
        ]
        self._kill_all()
        deadline = time.monotonic() + 5
        while self._live_pids() and time.monotonic() < deadline:
            self._reap()
            time.sleep(POLL_SECONDS)
        self._reap()
        self._reap_strays()

    def _adopted(self) -> set[Pid]:
        """Live processes of this run that ipctrace adopted as their subreaper (daemons whose parent ended).

        ipctrace's other children (a tcpdump capture, another run's roles when runs share one process)
        are not this run's: a process belongs to it when its environment names this run's recording.
        """
        marker = str(self.recording.path)
        roots = {r.proc.pid for r in self.runs} | ({self.held.run.proc.pid} if self.held is not None else set())
        for pid in procfs.children(os.getpid()):
            if pid not in roots and pid not in self._orphans and procfs.environment_mentions(pid, marker):
                self._orphans.add(pid)
        return {pid for pid in self._orphans if pid not in self.reaped and procfs.alive(pid)}

    def _run_processes(self) -> set[Pid]:
        """Every live process of the run: the roles' trees, the processes seen in the trace, adopted orphans."""
        roots = {r.proc.pid for r in self.runs} | set(self._live_pids()) | self._adopted()
        return procfs.descendants(roots)

    def _kill_all(self) -> None:
        for run in self.runs:
            try:
                os.killpg(run.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for pid in self._run_processes():
            self._killed.add(pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _reap_strays(self) -> None:
        """Reap the run's processes ipctrace was not following (orphans it adopted but never saw record)."""
        for pid in (self._killed | self._orphans) - set(self.reaped):
            try:
                got, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                continue
            if got:
                self._reaped(pid, status)

    def untraced_notes(self) -> list[str]:
        """A role no recorder entered, in a run that recorded others (a run that recorded nothing says so once)."""
        if not any(r.recorded for r in self.runs):
            return []
        return [f"{r.role.name}: {r.untraced}" for r in self.runs if r.untraced]

    def finish(self) -> list[dict[str, Any]]:
        """Every record plus the blocked-call records, after all processes are gone.

        A process the recorder shows inside a call is blocked in that call; what /proc said is kept only
        for processes the logs say nothing about.
        """
        for run in self.runs:
            run.close_stdin()
            for thread in run.pumps:
                thread.join(timeout=5)
        raw = self.recording.everything()
        in_call = {obj["pid"] for obj in raw if obj.get("state") == "in-progress"}
        return raw + [b for b in self.blocked_records if b["pid"] not in in_call]
