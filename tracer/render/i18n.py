"""The words on a diagram, in English and Korean (`lang="ko"`), and the font check Korean needs.

The course notes are Korean, so a lecturer can label a diagram in the words
of the notes (부모 프로세스, 자식 프로세스, 파이프, ...). Every word the
diagram itself writes is here, so `--lang ko` is complete; payloads, call
names and errno names stay as the program and the kernel wrote them.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache

from ipctrace.link import GroupId
from ipctrace.render.options import Lang, RenderError

_WORDS: dict[str, tuple[str, str]] = {
    # lanes
    "process": ("process", "프로세스"),
    "parent": ("parent process", "부모 프로세스"),
    "child": ("child process", "자식 프로세스"),
    "child_of": ("child of {parent}", "{parent}의 자식"),
    "child_n_of": ("child #{n} of {parent}", "{parent}의 자식 #{n}"),
    "handler_for": ("handler for {peer}", "{peer} 담당 자식"),
    "handler": ("client handler", "클라이언트 담당 자식"),
    "writer_of": ("{parent}'s writer", "{parent}의 송신 담당"),
    "reader_of": ("{what} reader", "{what} 읽기 담당"),
    "server": ("server", "서버"),
    "client": ("client", "클라이언트"),
    "pipe": ("pipe", "파이프"),
    "socketpair": ("socketpair", "소켓 쌍"),
    "unix": ("Unix socket", "유닉스 소켓"),
    "tcp": ("TCP connection", "TCP 연결"),
    "udp": ("UDP", "UDP"),
    "unix-dgram": ("Unix datagrams", "유닉스 데이터그램"),
    "socket": ("socket", "소켓"),
    "in_kernel": ("in the kernel", "커널 안"),
    "server_socket": ("server socket", "서버 소켓"),
    "client_socket": ("client socket", "클라이언트 소켓"),
    # what a descriptor refers to
    "pipe_read_end": ("{pipe} read end", "{pipe} 읽기 끝"),
    "pipe_write_end": ("{pipe} write end", "{pipe} 쓰기 끝"),
    "pipe_ends": ("{pipe}: {r} read, {w} write", "{pipe}: {r} 읽기, {w} 쓰기"),
    "listening_socket": ("listening socket {addr}", "연결 대기 소켓 {addr}"),
    "conn_to_client": ("connection to client {addr}", "클라이언트 {addr}와의 연결"),
    "conn_to_server": ("connection to server {addr}", "서버 {addr}와의 연결"),
    "udp_socket": ("UDP socket {addr}", "UDP 소켓 {addr}"),
    "socket_plain": ("socket", "소켓"),
    "pair_end": ("{pair} end {n}", "{pair} 끝 {n}"),
    "pair_ends_fds": ("{pair}: end 0 = {a}, end 1 = {b}", "{pair}: 끝 0 = {a}, 끝 1 = {b}"),
    "unix_socket": ("Unix socket {path}", "유닉스 소켓 {path}"),
    "unix_listening": ("listening Unix socket {path}", "연결 대기 유닉스 소켓 {path}"),
    "both_hold": ("after fork both hold:", "fork 후 둘 다 보유:"),
    "holds_nothing": ("holds no pipe or socket", "파이프·소켓 없음"),
    # calls and waits
    "returns": ("{call} returns", "{call} 반환"),
    "waited": ("waited {t}", "{t} 대기"),
    "interrupted": ("{call} interrupted: {what}", "{call} 중단: {what}"),
    "in_handler": ("in the {sig} handler", "{sig} 핸들러 안"),
    "signal": ("signal", "시그널"),
    "to": ("to {addr}", "→ {addr}"),
    "from": ("from {addr}", "← {addr}"),
    # ends
    "exit": ("exit {code}", "종료 {code}"),
    "killed": ("killed by {sig}", "{sig}로 종료됨"),
    "stopped_by": ("stopped by {sig}, as expected", "예상대로 {sig}로 중지"),
    "exception": ("ended by {what}", "{what}로 종료"),
    "blocked_forever": ("blocked forever in {call}", "{call}에서 영원히 대기"),
    "expected": ("expected: {why}", "예상된 결과: {why}"),
    "still_blocked": ("still blocked in {call} when the run ended", "실행이 끝날 때 {call}에서 대기 중"),
    "still_running": ("still running at the end", "끝까지 실행 중"),
    "ended": ("ended", "종료"),
    "never_read": ("never read", "읽히지 않음"),
    "unknown_sender": ("from an untraced sender", "추적되지 않은 송신자"),
    "eof": ("EOF", "EOF (파일 끝)"),
    "connect": ("connect → accept", "connect → accept (연결)"),
    # folds
    "loop": ("loop × {n}", "반복 × {n}"),
    "loop_words": ("{n} times: {what}", "{n}번: {what}"),
    "sends_to": ("{a} sends {size} to {b}", "{a} → {b} {size}"),
    "then": (", then ", ", 이어서 "),
    "each": ("{b} each", "각 {b}"),
    "bytes_total": ("{b} in all", "모두 {b}"),
    "held": ("{b} waiting in the {what}", "{what}에 {b} 대기"),
    # pages
    "page": ("page {i} of {n}", "{n}쪽 중 {i}쪽"),
    "continued": ("continued from the previous page", "앞 쪽에서 계속"),
    "continues": ("continues on the next page", "다음 쪽에 계속"),
    "continued_mark": ("⋮ continued", "⋮ 계속"),
    "continues_mark": ("continues ⋮", "계속 ⋮"),
    "typed": ("typed", "입력"),
    "end_of_input": ("(end of input)", "(입력 끝)"),
    # legend
    "legend_msg": ("message: payload (bytes)", "메시지: 내용 (바이트)"),
    "legend_kernel": ("into / out of the kernel", "커널로 / 커널에서"),
    "legend_packet": ("packet on the wire", "전송된 패킷"),
    "legend_wait": ("blocked in a call", "블로킹 호출 (대기)"),
    "legend_sleep": ("sleep()", "sleep() (잠자기)"),
    "legend_open": ("still blocked at the end", "끝까지 대기"),
    "legend_note": ("printed / typed lines", "출력 / 입력된 줄"),
    "legend_error": ("failed call (errno)", "실패한 호출 (errno)"),
    "legend_fork": ("fork, connect, EOF", "fork, 연결, EOF"),
    "legend_loop": ("repeated exchange, folded", "반복된 교환 (접힘)"),
    "legend_handler": ("call in a signal handler", "시그널 핸들러 안의 호출"),
    "time_flows_down": ("time flows down", "시간은 위에서 아래로"),
    "view_processes": ("processes view", "프로세스 보기"),
    "view_kernel": ("kernel view", "커널 보기"),
    "view_packets": ("packets view", "패킷 보기"),
    "no_packets": ("no packets were captured", "캡처된 패킷 없음"),
    "ending_complete": ("every process ended", "모든 프로세스 종료"),
    "ending_expected": ("ended as expected: {why}", "예상된 종료: {why}"),
    "ending_timeout": ("stopped at the timeout", "시간 초과로 중지"),
    "ending_deadlock": ("stopped: deadlock", "교착 상태로 중지"),
    "ending_interrupted": ("stopped by Ctrl-C", "Ctrl-C로 중지"),
    "ending_failed": ("did not end as expected", "예상과 다르게 종료"),
}


def tr(key: str, lang: Lang | str = Lang.EN, **values: object) -> str:
    """The word or phrase `key` in `lang`, with `{name}` fields filled in."""
    en, ko = _WORDS[key]
    text = ko if lang == Lang.KO else en
    return text.format(**values) if values else text


def group_title(group: GroupId, lang: Lang | str = Lang.EN) -> str:
    """A channel group as people say it: `pipe#1` → `pipe #1` (파이프 #1), `tcp#2` → `TCP connection #2`."""
    kind = str(group.kind)
    word = tr(kind, lang) if kind in _WORDS else kind
    return f"{word} #{group.number}"


def duration(nanos: int) -> str:
    """A wait as people say it: 3.0 s, 12 ms, 85 µs."""
    seconds = nanos / 1e9
    if seconds >= 1:
        return f"{seconds:.1f} s"
    if seconds >= 0.01:
        return f"{seconds * 1e3:.0f} ms"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


@lru_cache(maxsize=1)
def korean_font() -> str | None:
    """The family name of an installed font with Hangul, preferring Nanum Gothic; None when there is none."""
    if shutil.which("fc-list") is None:
        return None
    try:
        out = subprocess.run(["fc-list", ":lang=ko", "family"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    families = [line.split(",")[0].strip() for line in out.splitlines() if line.strip()]
    for preferred in ("NanumGothic", "NanumBarunGothic", "NanumSquare", "Noto Sans CJK KR", "UnDotum"):
        if preferred in families:
            return preferred
    return families[0] if families else None


def require_korean_font() -> str:
    """The Korean font to draw with, or a RenderError saying how to install one."""
    font = korean_font()
    if font is None:
        raise RenderError(
            "no font with Korean (Hangul) glyphs is installed, so Korean text would be drawn as empty boxes: "
            "install one with `apt-get install fonts-nanum` (check with `fc-list :lang=ko`)."
        )
    return font
