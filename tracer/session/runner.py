"""`run_scenario`: one run from start to end — checked, started, supervised, assembled, written.

The order matters. Everything that can refuse the run (names, numbers, the port, a program that
does not exist) is checked before anything is written, so a refused run changes nothing on disk.
Then the folder is claimed (`folder`), the first role's interpreter started (held before its program,
so that its start-up overlaps the capture opening), the capture opened, the roles supervised (`supervisor`), and
the facts assembled into one trace written as `trace.jsonl`; only then are the previous results
discarded. A stop signal (`stopping`) ends the supervision early and the rest still happens: the
partial trace is kept. A full disk stops the run too; the raw recording, redundant once read, is
given up to make room for the trace.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipctrace.session.procfs as procfs
from ipctrace.assemble import build_trace
from ipctrace.model import FORMAT_VERSION, CaptureInfo, Header, Inode, Packet, Stream, Trace
from ipctrace.scenarios import BUILTIN_DIR, PROGRAMS_DIR, Scenario
from ipctrace.session.capturing import keep_packets, open_capture
from ipctrace.session.folder import TRACE, DiskFull, RunFolder, disk_sentence
from ipctrace.session.judge import Verdict, blocked_processes, judge
from ipctrace.session.output import OutputPrinter, output_name
from ipctrace.session.ports import choose_port
from ipctrace.session.recording import Recording
from ipctrace.session.results import Ending, RunError, RunOptions, RunResult
from ipctrace.session.roles import missing_program
from ipctrace.session.stopping import StopSignals
from ipctrace.session.supervisor import Supervisor
from ipctrace.session.warmup import Warmup
from ipctrace.tracefile import write_trace

if TYPE_CHECKING:
    from ipctrace.explore.replay import ScheduleGate


def _built_c_programs(scenario: Scenario) -> str:
    """The folder of the built C originals when the scenario's commands name it ({cbin}), built if needed."""
    if not any("{cbin}" in arg for role in scenario.roles for arg in role.command):
        return ""
    from ipctrace.cprograms import CProgramsUnavailable, built_programs

    try:
        return str(built_programs())
    except CProgramsUnavailable as exc:
        raise RunError(str(exc)) from None


def _native_library() -> tuple[Path | None, str]:
    """The native recorder's library for LD_PRELOAD (built on first use), or None and why it cannot be had."""
    from ipctrace.cprograms import native_library_or_reason

    return native_library_or_reason()


def substitutions(scenario: Scenario, outdir: Path, port: int | None, cbin: str) -> dict[str, str]:
    """The placeholders of the scenario's commands, and the folder its roles run in (`cwd`)."""
    # A user's scenario file names its programs relative to itself: its roles run in the file's folder.
    here = scenario.path.parent.resolve() if scenario.path is not None else Path.cwd()
    own_file = scenario.path is not None and here != BUILTIN_DIR.resolve()
    return {
        "python": sys.executable,
        "programs": str(PROGRAMS_DIR),
        "cbin": cbin,
        "port": str(port or ""),
        "outdir": str(outdir),
        "here": str(here),
        "cwd": str(here) if own_file else os.getcwd(),
    }


def check_programs(scenario: Scenario, subst: dict[str, str]) -> None:
    """Every role's program exists and can be started (checked before anything is written)."""
    for role in scenario.roles:
        problem = missing_program([arg.format(**subst) for arg in role.command], subst.get("cwd"))
        if problem is not None:
            raise RunError(f"cannot start {role.name}: {problem}.")


def _header(scenario: Scenario, subst: dict[str, str], started: int, ended: int, **fields: Any) -> Header:
    return Header(
        version=FORMAT_VERSION,
        command=tuple(" ".join(a.format(**subst) for a in r.command) for r in scenario.roles),
        host=platform.node(),
        clock="CLOCK_REALTIME (time.time_ns)",
        started=started,
        ended=ended,
        scenario=scenario.name,
        title=scenario.title,
        lesson=scenario.lesson,
        **fields,
    )


class _Run:
    """The state of one run between its steps."""

    def __init__(
        self, scenario: Scenario, options: RunOptions, stop: StopSignals, then: Callable[[RunResult], None] | None
    ) -> None:
        self.then = then
        self.scenario = scenario
        self.options = options
        self.stop = stop
        self.outdir = options.folder(scenario).resolve()
        self.port = choose_port(options.port, scenario.protocols) if scenario.uses_port else None
        cbin = _built_c_programs(scenario)  # a missing compiler is one sentence, before anything is written
        self.subst = substitutions(scenario, self.outdir, self.port, cbin)
        check_programs(scenario, self.subst)
        self.folder = RunFolder(self.outdir, scenario)
        self.capture: Any = None
        self.capture_note = ""
        self.started = self.ended = 0

    def execute(self) -> RunResult:
        self.folder.claim()
        try:
            return self._execute()
        except BaseException:
            self.folder.abandon()
            raise

    def _execute(self) -> RunResult:
        recording = Recording(self.outdir)
        native, native_note = _native_library()
        env = recording.environment(self.options.payload_cap, native)
        gate = self._schedule_gate(env)
        procfs.become_subreaper()
        printer = OutputPrinter(self.outdir, self.options.echo)
        timeout = self.options.timeout or self.scenario.timeout
        supervisor = Supervisor(
            self.scenario, env, recording, self.subst, printer, timeout, self.stop, native_note=native_note
        )
        try:
            supervisor.hold_first()  # its interpreter starts while the capture opens; its program once it is open
            self.capture, self.capture_note = open_capture(self.options.capture)
        except BaseException:
            self._abort(supervisor, printer)
            raise
        warmup = Warmup(self.options.preload)  # what comes after the run, imported while the programs run
        self.started = time.time_ns()
        try:
            try:
                if gate is not None:
                    gate.start()
                warmup.start()
                ending, message = supervisor.run()
            except BaseException:  # a role that cannot start: stop the others, then say why
                self._abort(supervisor, printer)
                raise
            finally:
                if gate is not None:
                    gate.stop()
            if printer.disk_full is not None:  # whatever else ended the run, its output was cut short
                ending = Ending.DISK_FULL
                message = f"the disk filled up ({printer.disk_full.strerror}), so the run stopped"
            supervisor.stop()
            self.ended = time.time_ns()  # the programs' end, not the warm-up's: it goes on while the trace is made
            return self._after(supervisor, printer, recording, ending, message, warmup)
        finally:
            warmup.wait()  # the process never exits half-way through an import

    def _after(
        self,
        supervisor: Supervisor,
        printer: OutputPrinter,
        recording: Recording,
        ending: Ending,
        message: str,
        warmup: Warmup,
    ) -> RunResult:
        """The trace read, judged and written once the run has ended; then what the warm-up loaded is used."""
        raw = supervisor.finish()
        printer.close()
        packets, info = self._packets(raw)
        trace = self._assemble(supervisor, raw, info, packets)
        blocked = blocked_processes(trace)
        recorded = len(raw) > len(supervisor.blocked_records)  # blocked calls read from /proc are not recordings
        verdict = judge(self.scenario, ending, message, supervisor.runs, blocked, self.outdir, recorded)
        if verdict.ending is Ending.DISK_FULL:
            verdict = replace(verdict, message=self._kept(verdict.message, trace, printer))
        trace = replace(trace, header=replace(trace.header, ending=str(verdict.ending), ending_note=verdict.message))
        self.folder.give_back_reserve()
        self._save(trace, recording, printer)
        warmup.wait()
        result = self._result(trace, verdict, supervisor, printer, blocked)
        try:
            if self.then is not None:  # e.g. the diagrams: written while no other run can take the folder
                self.then(result)
        finally:
            replaced = self.folder.keep(interrupted=verdict.ending is Ending.INTERRUPTED)
        if replaced:
            result.notes.append(replaced)
        return result

    def _schedule_gate(self, env: dict[str, str]) -> ScheduleGate | None:
        """The explorer's gate when a schedule is asked (`--schedule`, or the scenario's); both recorders gate."""
        schedule = self.options.schedule or self.scenario.schedule
        if schedule is None:
            return None
        from ipctrace.explore.replay import ScheduleGate, chooser_for  # the explorer's, only when replaying
        from ipctrace.explore.roles import RolePlan

        roles = self.scenario.roles
        plan = tuple(RolePlan(r.name, ready=RolePlan.ready_ids(r.ready), service=r.service) for r in roles)
        gate = ScheduleGate(chooser_for(schedule), plan)
        env.update(gate.variables())
        return gate

    def _abort(self, supervisor: Supervisor, printer: OutputPrinter) -> None:
        supervisor.stop()
        supervisor.finish()
        printer.close()
        if self.capture is not None:
            self.capture.stop(drain=0)

    def _packets(self, raw: list[dict[str, Any]]) -> tuple[list[Packet], CaptureInfo]:
        if self.capture is None:
            return [], CaptureInfo("none", note=self.capture_note)
        pcap = self.outdir / "capture.pcap"
        try:
            return keep_packets(self.capture, self.options.capture, raw, pcap, self.port, self.scenario.protocols)
        except OSError as exc:
            note = f"{disk_sentence(pcap, exc)}: capture.pcap was not written"
            return [], CaptureInfo(self.options.capture, note=note)

    def _assemble(
        self, supervisor: Supervisor, raw: list[dict[str, Any]], info: CaptureInfo, packets: list[Packet]
    ) -> Trace:
        roles: dict[str, tuple[str, ...]] = {r.role.name: (str(r.proc.pid),) for r in supervisor.runs}
        streams: dict[Inode, Stream] = {inode: s for r in supervisor.runs for inode, s in r.streams.items()}
        header = _header(
            self.scenario, self.subst, self.started, self.ended, roles=roles, capture=info, streams=streams
        )
        roots = {r.proc.pid: r.role.name for r in supervisor.runs}
        return build_trace(header, raw, roots=roots, reaped=supervisor.reaped, packets=packets)

    def _save(self, trace: Trace, recording: Recording, printer: OutputPrinter) -> None:
        """Write trace.jsonl; when the disk is full, give up the raw recording (read already) to make room."""
        path = self.outdir / TRACE
        try:
            self._write_trace(trace, path)
        except OSError:
            recording.remove()
            try:
                self._write_trace(trace, path)
            except OSError as exc:
                raise DiskFull(self._nothing_kept(path, exc, trace, printer)) from None
        recording.remove()  # everything it held is in trace.jsonl now

    @staticmethod
    def _write_trace(trace: Trace, path: Path) -> None:
        try:
            write_trace(trace, path)
        except OSError:
            path.with_name(path.name + ".tmp").unlink(missing_ok=True)  # never a half trace under any name
            raise

    def _kept(self, message: str, trace: Trace, printer: OutputPrinter) -> str:
        """What a run stopped by a full disk kept, said after why it stopped."""
        calls = sum(1 for e in trace.events if not e.blocked)
        seconds = (self.ended - self.started) / 1e9
        kept = [f"{message} after {seconds:.1f} s: {TRACE} holds the {calls} calls recorded until then"]
        kept += [
            f"{role}'s output is cut short at {size:,} bytes (in {output_name(role)}.partial)"
            for role, size in printer.cut().items()
        ]
        return "; ".join(kept)

    def _nothing_kept(self, path: Path, exc: OSError, trace: Trace, printer: OutputPrinter) -> str:
        calls = sum(1 for e in trace.events if not e.blocked)
        return (
            f"{disk_sentence(path, exc)}: the run recorded {calls} calls, but there is no room for its trace, "
            f"so nothing of this run was kept ({self.outdir} holds what it held before); "
            "free some space and run it again."
        )

    def _result(
        self,
        trace: Trace,
        verdict: Verdict,
        supervisor: Supervisor,
        printer: OutputPrinter,
        blocked: list[Any],
    ) -> RunResult:
        files = {"trace": self.outdir / TRACE}
        if (self.outdir / "capture.pcap").exists():
            files["capture"] = self.outdir / "capture.pcap"
        for role, path in printer.kept.items():
            files[f"output of {role}"] = path
        return RunResult(
            scenario=self.scenario,
            outdir=self.outdir,
            trace_path=self.outdir / TRACE,
            trace=trace,
            ending=verdict.ending,
            ok=verdict.ok,
            message=verdict.message,
            blocked=blocked,
            files=files,
            port=self.port,
            stopped_by=self.stop.caught if verdict.ending is Ending.INTERRUPTED else None,
            notes=run_notes(trace, supervisor),
            recorder_problems=supervisor.untraced_notes() + supervisor.recording.problems,
        )


def run_notes(trace: Trace, supervisor: Supervisor) -> list[str]:
    """What the user should know about how the run went, beyond its ending: datagrams dropped, script unused."""
    notes = [unused_script_note(run.role.name, list(run.script)) for run in supervisor.runs if run.script]
    notes += [unmarked_input_note(run.role.name, run.unmarked) for run in supervisor.runs if run.unmarked]
    for inode, drops in sorted(supervisor.udp_drops.items()):
        if not drops:
            continue
        pid = supervisor.lineage.udp_sockets[inode]
        proc = trace.process(pid)
        who = f"{proc.role} [{pid}]" if proc is not None else f"pid {pid}"
        notes.append(
            f"a UDP socket of {who} dropped {drops} datagrams: its receive queue overflowed because the "
            "program read more slowly than they arrived (tracing slows a program down; an untraced run may lose fewer)"
        )
    return notes


def unused_script_note(role: str, lines: list[str]) -> str:
    """The scripted lines a role never asked for (it ended, or the run was stopped, first): typed by nobody."""
    shown = ", ".join(repr(line.rstrip("\n")) for line in lines[:3]) + (", ..." if len(lines) > 3 else "")
    count = "1 scripted line" if len(lines) == 1 else f"{len(lines)} scripted lines"
    return f"{role} never asked for {count}, so {'it was' if len(lines) == 1 else 'they were'} not typed: {shown}"


def unmarked_input_note(role: str, times: int) -> str:
    """Input given where the recorder saw no request for it: the program reads in a way it does not mark."""
    count = "once" if times == 1 else f"{times} times"
    return (
        f"{role} waited for input {count} in a read the recorder does not mark (libc's read through ctypes, "
        "a raw system call): ipctrace saw it in /proc and gave it its next scripted line each time"
    )


def run_scenario(
    scenario: Scenario,
    options: RunOptions | None = None,
    stop: StopSignals | None = None,
    then: Callable[[RunResult], None] | None = None,
) -> RunResult:
    """Run a scenario under the tracer and write its trace, capture and outputs.

    Ctrl-C, SIGTERM and SIGHUP stop it early and keep the partial trace (`stop`: the caller's holder,
    when the caller wants to know about a signal that comes after the run, as the command line does).
    `then` is called with the result while the run still holds its folder, so that what is written
    from the trace (the diagrams) cannot be taken apart by another run starting into the same folder.
    """
    options = options or RunOptions()
    if stop is not None:  # entered by the caller
        return _Run(scenario, options, stop, then).execute()
    with StopSignals() as signals:
        return _Run(scenario, options, signals, then).execute()
